/* handler.c - the table of handler kinds. */
#include "handler.h"

#include <stddef.h>

static const struct handler_kind_ops *const kinds[] = {
    [HANDLER_HTTP] = &handler_http_ops,
    [HANDLER_INVOKE] = &handler_invoke_ops,
    [HANDLER_LUA] = &handler_lua_ops,
};

const struct handler_kind_ops *handler_ops(enum handler_kind kind)
{
    if ((size_t)kind >= sizeof(kinds) / sizeof(kinds[0]))
        return NULL;
    return kinds[kind];
}

void handler_thread_exit(void)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (kinds[i] && kinds[i]->thread_exit)
            kinds[i]->thread_exit();
}
