/* control.c - the config file plus runtime changes, merged into snapshots;
 * the state file. See control.h for the rules. */
#include "control.h"

#include <errno.h>
#include <event2/buffer.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_parse.h"
#include "log.h"
#include "util.h"

#define CONTROL_MAX_FILE_BYTES (16u << 20)
#define STATE_FORMAT 1

struct state_part {
    char *key;
    control_save_fn *save;
    void *arg;
    struct state_part *next;
};

struct control {
    char *path;
    control_install_fn *install;
    void *install_arg;
    json_t *file_doc;   /* the file as last loaded successfully */
    struct config *cfg; /* in force; one reference held here */
    /* runtime state */
    json_t *published;   /* {fn: {number: definition}} */
    json_t *overrides;   /* {fn: {alias: {"state": {...}, "config_def": text}}} */
    json_t *generations; /* {fn: {alias: n}} */
    json_t *loaded;      /* the state file as read at start, for the parts */
    struct state_part *parts;
    struct control_fleet fleet; /* all NULL on a single instance */
};

/* ------------------------------------------------------------ helpers */

void control_answer_set(struct control_answer *a, int status, const char *fmt, ...)
{
    va_list ap;

    a->status = status;
    a->body = NULL;
    va_start(ap, fmt);
    vsnprintf(a->message, sizeof(a->message), fmt, ap);
    va_end(ap);
}

/* Shorter, for this file's many answers. */
#define answer control_answer_set

/* A definition as canonical text: equal definitions, equal text. NULL for
 * a NULL value or out of memory. The caller frees. */
static char *canonical(const json_t *v)
{
    return v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
}

static int same_json(const json_t *a, const json_t *b)
{
    char *ta = canonical(a), *tb = canonical(b);
    int same = ta && tb && strcmp(ta, tb) == 0;

    free(ta);
    free(tb);
    return same || (!a && !b);
}

/* doc.functions[fn], or NULL. */
static json_t *doc_function(const json_t *doc, const char *fn)
{
    return json_object_get(json_object_get(doc, "functions"), fn);
}

static json_t *doc_alias(const json_t *doc, const char *fn, const char *alias)
{
    return json_object_get(json_object_get(doc_function(doc, fn), "aliases"), alias);
}

/* obj[k1][k2], creating obj[k1] as needed. Returns 0 or -1. */
static int set2(json_t *obj, const char *k1, const char *k2, json_t *v /* stolen */)
{
    json_t *inner = json_object_get(obj, k1);

    if (!v)
        return -1;
    if (!inner) {
        inner = json_object();
        if (!inner || json_object_set_new(obj, k1, inner) < 0) {
            json_decref(v);
            return -1;
        }
    }
    return json_object_set_new(inner, k2, v);
}

static void del2(json_t *obj, const char *k1, const char *k2)
{
    json_t *inner = json_object_get(obj, k1);

    json_object_del(inner, k2);
    if (inner && json_object_size(inner) == 0)
        json_object_del(obj, k1);
}

/* The file with the runtime state laid over it: published versions the
 * file does not define, and alias states whose file definition is still
 * the one they were made against. New reference or NULL (out of memory). */
static json_t *merged_doc(const json_t *file_doc, const json_t *published,
                          const json_t *overrides)
{
    json_t *doc = json_deep_copy(file_doc);
    const char *fn, *k;
    json_t *fv, *v;

    if (!doc)
        return NULL;
    json_object_foreach((json_t *)published, fn, fv)
    {
        json_t *versions = json_object_get(doc_function(doc, fn), "versions");
        if (!json_is_object(versions))
            continue;
        json_object_foreach(fv, k, v)
            if (!json_object_get(versions, k) &&
                json_object_set_new(versions, k, json_deep_copy(v)) < 0)
                goto oom;
    }
    json_object_foreach((json_t *)overrides, fn, fv)
    {
        json_t *aliases = json_object_get(doc_function(doc, fn), "aliases");
        json_object_foreach(fv, k, v)
        {
            json_t *cur = json_object_get(aliases, k);
            char *text = canonical(cur);
            const char *made_on = json_string_value(json_object_get(v, "config_def"));
            int applies = text && made_on && strcmp(text, made_on) == 0;

            free(text);
            if (applies) {
                json_t *st = json_deep_copy(json_object_get(v, "state"));
                json_t *thr = json_object_get(cur, "throttle");
                /* a runtime state (admin PUT, deployment step) picks
                 * versions; the file's throttle stays unless it sets one */
                if (st && thr && !json_object_get(st, "throttle") &&
                    json_object_set(st, "throttle", thr) < 0) {
                    json_decref(st);
                    goto oom;
                }
                if (!st || json_object_set_new(aliases, k, st) < 0)
                    goto oom;
            }
        }
    }
    return doc;
oom:
    json_decref(doc);
    return NULL;
}

/* Drops the overrides the file has overtaken (its definition of the alias
 * changed, or the alias is gone), logging each. */
static void drop_stale_overrides(struct control *ctl)
{
    const char *fn, *k;
    json_t *fv, *v;
    void *tmp, *tmp2;

    json_object_foreach_safe(ctl->overrides, tmp, fn, fv)
    {
        json_object_foreach_safe(fv, tmp2, k, v)
        {
            char *text = canonical(doc_alias(ctl->file_doc, fn, k));
            const char *made_on = json_string_value(json_object_get(v, "config_def"));

            if (!text || !made_on || strcmp(text, made_on) != 0) {
                log_info("alias %s:%s: the config file changed its definition; the file's wins "
                         "over the state set at run time",
                         fn, k);
                json_object_del(fv, k);
            }
            free(text);
        }
        if (json_object_size(fv) == 0)
            json_object_del(ctl->overrides, fn);
    }
}

/* Builds a snapshot from doc. The file's own name is used in errors. */
static struct config *build(struct control *ctl, const json_t *doc, struct config_errors *errs)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    struct config *c;

    if (!text) {
        log_error("out of memory building a config snapshot");
        return NULL; /* errs stays empty: callers read that as out of memory */
    }
    c = config_load_string(text, ctl->path, errs);
    free(text);
    return c;
}

/* Every alias's effective definition as canonical text, {fn: {alias: text}}. */
static json_t *alias_texts(const json_t *doc)
{
    json_t *out = json_object();
    const char *fn, *k;
    json_t *fv, *v;

    if (!out)
        return NULL;
    json_object_foreach(json_object_get(doc, "functions"), fn, fv)
        json_object_foreach(json_object_get(fv, "aliases"), k, v)
        {
            char *t = canonical(v);
            if (!t || set2(out, fn, k, json_string(t)) < 0) {
                free(t);
                json_decref(out);
                return NULL;
            }
            free(t);
        }
    return out;
}

uint64_t control_alias_generation(struct control *ctl, const char *fn, const char *alias)
{
    json_t *g = json_object_get(json_object_get(ctl->generations, fn), alias);

    return json_is_integer(g) ? (uint64_t)json_integer_value(g) : 0;
}

/* Bumps the generation of every alias whose effective text differs between
 * before and after (a new alias starts at 1). */
static void bump_generations(struct control *ctl, const json_t *before, const json_t *after)
{
    const char *fn, *k;
    json_t *fv, *v;

    json_object_foreach((json_t *)after, fn, fv)
        json_object_foreach(fv, k, v)
        {
            json_t *old = json_object_get(json_object_get(before, fn), k);
            uint64_t g = control_alias_generation(ctl, fn, k);
            if (g == 0)
                g = 1;
            else if (!old || strcmp(json_string_value(old), json_string_value(v)) != 0)
                g++;
            else
                continue;
            set2(ctl->generations, fn, k, json_integer((json_int_t)g));
        }
}

/* ------------------------------------------------------------ lifecycle */

struct control *control_new(const char *path, control_install_fn *install, void *arg)
{
    struct control *ctl = calloc(1, sizeof(*ctl));

    if (!ctl)
        return NULL;
    ctl->path = strdup(path);
    ctl->install = install;
    ctl->install_arg = arg;
    ctl->published = json_object();
    ctl->overrides = json_object();
    ctl->generations = json_object();
    if (!ctl->path || !ctl->published || !ctl->overrides || !ctl->generations) {
        control_free(ctl);
        return NULL;
    }
    return ctl;
}

void control_free(struct control *ctl)
{
    if (!ctl)
        return;
    while (ctl->parts) {
        struct state_part *p = ctl->parts;
        ctl->parts = p->next;
        free(p->key);
        free(p);
    }
    json_decref(ctl->file_doc);
    json_decref(ctl->published);
    json_decref(ctl->overrides);
    json_decref(ctl->generations);
    json_decref(ctl->loaded);
    config_unref(ctl->cfg);
    free(ctl->path);
    free(ctl);
}

struct config *control_config(const struct control *ctl)
{
    return ctl->cfg;
}

/* Reads and checks the file: its snapshot (file only) and its JSON. */
static struct config *load_file(struct control *ctl, json_t **doc, struct config_errors *errs)
{
    char why[256];
    size_t len;
    char *text = config_read_file(ctl->path, CONTROL_MAX_FILE_BYTES, &len, why, sizeof(why));
    struct config *c;

    *doc = NULL;
    if (!text)
        return config_load(ctl->path, errs); /* reports why, the same way */
    c = config_load_string(text, ctl->path, errs);
    if (c) {
        *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
        if (!*doc) {
            log_error("out of memory reading %s", ctl->path);
            config_unref(c);
            c = NULL;
        }
    }
    free(text);
    return c;
}

/* The snapshot for the file plus the runtime state. file_cfg is the
 * file-only snapshot (its reference is taken over). When the runtime
 * state no longer fits the file (an alias override naming a version the
 * file dropped), the overrides go first, then the published versions. */
static struct config *with_runtime(struct control *ctl, struct config *file_cfg)
{
    static const char *const dropping[] = { "alias states set at run time",
                                            "versions published at run time" };

    for (int attempt = 0; attempt < 3; attempt++) {
        struct config_errors errs = { 0 };
        json_t *doc;
        struct config *c;

        if (json_object_size(ctl->published) == 0 && json_object_size(ctl->overrides) == 0)
            return file_cfg;
        doc = merged_doc(ctl->file_doc, ctl->published, ctl->overrides);
        c = doc ? build(ctl, doc, &errs) : NULL;
        json_decref(doc);
        if (c) {
            config_unref(file_cfg);
            return c;
        }
        for (size_t i = 0; i < errs.n; i++)
            log_error("runtime state does not fit %s: %s: %s", ctl->path, errs.v[i].path,
                      errs.v[i].message);
        config_errors_clear(&errs);
        if (attempt < 2) {
            log_warn("dropping the %s", dropping[attempt]);
            json_object_clear(attempt == 0 ? ctl->overrides : ctl->published);
        }
    }
    return file_cfg;
}

static void read_state_file(struct control *ctl, const char *path)
{
    json_error_t jerr;
    json_t *st, *v;

    if (access(path, F_OK) != 0)
        return;
    st = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!st || !json_is_object(st)) {
        log_error("state file %s: %s (line %d); starting from the config alone", path,
                  st ? "not a JSON object" : jerr.text, jerr.line);
        json_decref(st);
        return;
    }
    if (json_integer_value(json_object_get(st, "format")) != STATE_FORMAT) {
        log_error("state file %s: unknown format; starting from the config alone", path);
        json_decref(st);
        return;
    }
    if (json_is_object(v = json_object_get(st, "published")))
        json_object_update(ctl->published, v);
    if (json_is_object(v = json_object_get(st, "aliases")))
        json_object_update(ctl->overrides, v);
    if (json_is_object(v = json_object_get(st, "generations")))
        json_object_update(ctl->generations, v);
    ctl->loaded = st;
    log_info("state file %s: %zu function(s) with published versions, %zu with aliases set at "
             "run time",
             path, json_object_size(ctl->published), json_object_size(ctl->overrides));
}

struct config *control_load(struct control *ctl, struct config_errors *errs)
{
    json_t *doc, *texts;
    struct config *c = load_file(ctl, &doc, errs);

    if (!c)
        return NULL;
    ctl->file_doc = doc;
    if (c->state_file)
        read_state_file(ctl, c->state_file);
    drop_stale_overrides(ctl);
    c = with_runtime(ctl, c);
    doc = merged_doc(ctl->file_doc, ctl->published, ctl->overrides);
    texts = doc ? alias_texts(doc) : NULL;
    if (texts)
        bump_generations(ctl, texts, texts); /* aliases new to the state start at 1 */
    json_decref(texts);
    json_decref(doc);
    ctl->cfg = c;
    return c;
}

/* Installs c (reference taken over) as the snapshot in force, bumping the
 * generation of every alias whose effective state changed. Returns 0, or
 * -1 when the install hook refused it (nothing changed). */
static int install(struct control *ctl, struct config *c, const json_t *before_doc, int reload)
{
    json_t *after_doc, *before, *after;

    if (ctl->install(ctl->install_arg, c, reload) < 0) {
        config_unref(c);
        return -1;
    }
    config_unref(ctl->cfg);
    ctl->cfg = c;
    after_doc = merged_doc(ctl->file_doc, ctl->published, ctl->overrides);
    before = before_doc ? alias_texts(before_doc) : NULL;
    after = after_doc ? alias_texts(after_doc) : NULL;
    if (before && after)
        bump_generations(ctl, before, after);
    json_decref(before);
    json_decref(after);
    json_decref(after_doc);
    return 0;
}

int control_reload(struct control *ctl, struct config_errors *errs)
{
    json_t *doc, *old_file = ctl->file_doc, *before;
    json_t *saved_overrides;
    struct config *c = load_file(ctl, &doc, errs);

    if (!c)
        return -1;
    before = merged_doc(old_file, ctl->published, ctl->overrides);
    saved_overrides = json_deep_copy(ctl->overrides);
    ctl->file_doc = doc;
    drop_stale_overrides(ctl);
    c = with_runtime(ctl, c);
    if (install(ctl, c, before, 1) < 0) {
        ctl->file_doc = old_file;
        json_decref(doc);
        if (saved_overrides) {
            json_decref(ctl->overrides);
            ctl->overrides = saved_overrides;
        }
        json_decref(before);
        return -1;
    }
    json_decref(saved_overrides);
    json_decref(old_file);
    json_decref(before);
    control_state_write(ctl);
    return 0;
}

/* ------------------------------------------------------------ state file */

void control_state_register(struct control *ctl, const char *key, control_save_fn *save,
                            void *arg)
{
    struct state_part *p = calloc(1, sizeof(*p));

    if (!p || !(p->key = strdup(key))) {
        free(p);
        log_error("out of memory registering state part %s", key);
        return;
    }
    p->save = save;
    p->arg = arg;
    p->next = ctl->parts;
    ctl->parts = p;
}

json_t *control_state_part(const struct control *ctl, const char *key)
{
    return json_object_get(ctl->loaded, key);
}

/* Writes all of buf to fd. Returns 0 or -1 (errno set). */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Makes the rename itself durable: fsync of the directory holding path. */
static void sync_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    int fd;

    if (!slash)
        fmt_buf(dir, sizeof(dir), ".");
    else if (fmt_buf(dir, sizeof(dir), "%.*s", (int)(slash - path), path) < 0)
        return;
    if (!dir[0])
        fmt_buf(dir, sizeof(dir), "/");
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int control_state_write(struct control *ctl)
{
    const char *path = ctl->cfg ? ctl->cfg->state_file : NULL;
    char tmp[4096];
    json_t *st;
    char *text;
    int fd, rc = -1;

    if (!path)
        return 0;
    st = json_pack("{s:i, s:O, s:O, s:O}", "format", STATE_FORMAT, "published", ctl->published,
                   "aliases", ctl->overrides, "generations", ctl->generations);
    for (struct state_part *p = ctl->parts; st && p; p = p->next) {
        json_t *v = p->save(p->arg);
        if (v)
            json_object_set_new(st, p->key, v);
    }
    text = st ? json_dumps(st, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(st);
    if (!text) {
        log_error("state file %s: out of memory; not written", path);
        return -1;
    }
    if (fmt_buf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) < 0) {
        log_error("state file %s: path too long", path);
        free(text);
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_error("state file %s: cannot create %s: %s", path, tmp, strerror(errno));
    } else if (write_all(fd, text, strlen(text)) < 0 || write_all(fd, "\n", 1) < 0 ||
               fsync(fd) < 0) {
        log_error("state file %s: cannot write %s: %s", path, tmp, strerror(errno));
        close(fd);
        unlink(tmp);
    } else if (close(fd) < 0 || rename(tmp, path) < 0) {
        log_error("state file %s: cannot replace it: %s", path, strerror(errno));
        unlink(tmp);
    } else {
        sync_dir_of(path);
        rc = 0;
    }
    free(text);
    return rc;
}

/* ------------------------------------------------------------ reading */

static json_t *alias_state_from(struct control *ctl, const json_t *doc, const char *fn,
                                const char *alias)
{
    json_t *def = doc_alias(doc, fn, alias), *st;
    json_t *weights, *pins, *sticky;
    const char *src;

    if (!json_is_object(def))
        return NULL;
    weights = json_object_get(def, "weights");
    weights = weights ? json_incref(weights) : json_object();
    pins = json_object_get(def, "pins");
    pins = pins ? json_incref(pins) : json_array();
    sticky = json_object_get(def, "sticky_by");
    sticky = sticky ? json_incref(sticky) : json_null();
    src = json_object_get(json_object_get(ctl->overrides, fn), alias) ? "runtime" : "config";
    /* the override may be stale and not applied: say what is in force */
    if (strcmp(src, "runtime") == 0 &&
        !same_json(def, json_object_get(json_object_get(json_object_get(ctl->overrides, fn),
                                                        alias),
                                        "state")))
        src = "config";
    st = json_pack("{s:s, s:s, s:O, s:o*, s:o*, s:o*, s:I, s:s}", "function", fn, "alias", alias,
                   "version", json_object_get(def, "version"), "weights", weights, "sticky_by",
                   sticky, "pins", pins, "generation",
                   (json_int_t)control_alias_generation(ctl, fn, alias), "source", src);
    if (st && json_object_get(def, "throttle"))
        json_object_set(st, "throttle", json_object_get(def, "throttle"));
    return st;
}

json_t *control_alias_state(struct control *ctl, const char *fn, const char *alias)
{
    json_t *doc = merged_doc(ctl->file_doc, ctl->published, ctl->overrides);
    json_t *st = doc ? alias_state_from(ctl, doc, fn, alias) : NULL;

    json_decref(doc);
    return st;
}

void control_functions(struct control *ctl, struct control_answer *a)
{
    json_t *list = json_array();
    const struct config *c = ctl->cfg;

    for (size_t i = 0; list && i < c->nfunctions; i++) {
        const struct function *fn = &c->functions[i];
        json_t *vers = json_array(), *als = json_array();
        for (size_t j = 0; vers && j < fn->nversions; j++)
            json_array_append_new(vers, json_string(fn->versions[j].name));
        for (size_t j = 0; als && j < fn->naliases; j++)
            json_array_append_new(als, json_string(fn->aliases[j].name));
        json_array_append_new(list, json_pack("{s:s, s:o*, s:o*}", "name", fn->name, "versions",
                                              vers, "aliases", als));
    }
    a->status = 200;
    a->body = list ? json_pack("{s:o}", "functions", list) : NULL;
    if (!a->body)
        answer(a, 500, "out of memory");
}

void control_function(struct control *ctl, const char *name, struct control_answer *a)
{
    json_t *doc = merged_doc(ctl->file_doc, ctl->published, ctl->overrides);
    const struct function *fn = config_function(ctl->cfg, name);
    json_t *fdoc = doc ? doc_function(doc, name) : NULL;
    json_t *aliases = json_object();
    const char *k;
    json_t *v;

    if (!doc || !aliases) {
        json_decref(doc);
        json_decref(aliases);
        answer(a, 500, "out of memory");
        return;
    }
    if (!fn || !fdoc) {
        json_decref(doc);
        json_decref(aliases);
        answer(a, 404, "no function %s", name);
        return;
    }
    json_object_foreach(json_object_get(fdoc, "aliases"), k, v)
        json_object_set_new(aliases, k, alias_state_from(ctl, doc, name, k));
    a->status = 200;
    a->body = json_pack("{s:s, s:I, s:I, s:I, s:O, s:o}", "name", name, "timeout_ms",
                        (json_int_t)fn->timeout_ms, "memory_mb", (json_int_t)fn->memory_mb,
                        "max_concurrency", (json_int_t)fn->max_concurrency, "versions",
                        json_object_get(fdoc, "versions"), "aliases", aliases);
    json_decref(doc);
    if (!a->body)
        answer(a, 500, "out of memory");
}

/* ------------------------------------------------------------ changing */

/* Tries doc as the next snapshot: 0 when it was installed; else a is the
 * 400 (with every config error) or 500. */
static int try_install(struct control *ctl, json_t *doc, const json_t *before,
                       struct control_answer *a)
{
    struct config_errors errs = { 0 };
    struct config *c = build(ctl, doc, &errs);

    if (!c && errs.n == 0) {
        answer(a, 500, "out of memory");
        return -1;
    }
    if (!c) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < errs.n; i++) {
            char line[CONFIG_MSG_MAX + 256];
            fmt_buf(line, sizeof(line), "%s: %s", errs.v[i].path, errs.v[i].message);
            json_array_append_new(list, json_string(line));
        }
        a->status = 400;
        a->body = json_pack("{s:s, s:o*}", "message",
                            errs.v[0].message, "errors", list);
        config_errors_clear(&errs);
        if (!a->body)
            answer(a, 400, "invalid");
        return -1;
    }
    if (install(ctl, c, before, 0) < 0) {
        answer(a, 500, "the new state could not be put in force (see the error log)");
        return -1;
    }
    return 0;
}

/* The alias fields the admin shape carries that a PUT does not set. */
static int ignored_alias_key(const char *k)
{
    return strcmp(k, "function") == 0 || strcmp(k, "alias") == 0 ||
           strcmp(k, "generation") == 0 || strcmp(k, "source") == 0;
}

void control_alias_set(struct control *ctl, const char *fn, const char *alias, json_t *def,
                       uint64_t if_match, struct control_answer *a)
{
    json_t *before = NULL, *doc = NULL, *state = NULL, *file_def, *saved = NULL;
    uint64_t gen = control_alias_generation(ctl, fn, alias);
    const char *k;
    json_t *v;
    char *made_on = NULL;

    file_def = doc_alias(ctl->file_doc, fn, alias);
    if (!doc_function(ctl->file_doc, fn)) {
        answer(a, 404, "no function %s", fn);
        return;
    }
    if (!json_is_object(file_def)) {
        answer(a, 404, "function %s has no alias %s", fn, alias);
        return;
    }
    if (if_match && if_match != gen) {
        a->status = 412;
        a->body = json_pack("{s:s, s:I}", "message",
                            "the alias changed since that generation was read", "generation",
                            (json_int_t)gen);
        if (!a->body)
            answer(a, 412, "the alias changed since that generation was read");
        return;
    }
    if (!json_is_object(def)) {
        answer(a, 400, "expected a JSON object");
        return;
    }
    if (!(state = json_object()))
        goto oom;
    json_object_foreach(def, k, v)
    {
        if (ignored_alias_key(k))
            continue;
        if (strcmp(k, "version") != 0 && strcmp(k, "weights") != 0 &&
            strcmp(k, "sticky_by") != 0 && strcmp(k, "pins") != 0 &&
            strcmp(k, "throttle") != 0) {
            answer(a, 400, "unknown field %.100s", k);
            goto out;
        }
        if (json_is_null(v)) /* "sticky_by": null = none */
            continue;
        if (json_object_set(state, k, v) < 0)
            goto oom;
    }
    if (!json_object_get(state, "version")) {
        answer(a, 400, "version: required");
        goto out;
    }
    if ((v = json_object_get(state, "weights")) && json_is_object(v) && json_object_size(v) == 0)
        json_object_del(state, "weights");
    if ((v = json_object_get(state, "pins")) && json_is_array(v) && json_array_size(v) == 0)
        json_object_del(state, "pins");

    before = merged_doc(ctl->file_doc, ctl->published, ctl->overrides);
    saved = json_deep_copy(ctl->overrides);
    if (!before || !saved)
        goto oom;
    /* the file's own definition again: no override at all */
    if (same_json(state, file_def)) {
        del2(ctl->overrides, fn, alias);
    } else {
        if (!(made_on = canonical(file_def)) ||
            set2(ctl->overrides, fn, alias,
                 json_pack("{s:O, s:s}", "state", state, "config_def", made_on)) < 0)
            goto oom;
    }
    if (!(doc = merged_doc(ctl->file_doc, ctl->published, ctl->overrides)))
        goto oom;
    if (try_install(ctl, doc, before, a) < 0) {
        json_decref(ctl->overrides);
        ctl->overrides = saved;
        saved = NULL;
        goto out;
    }
    control_state_write(ctl);
    if (ctl->fleet.alias_changed)
        ctl->fleet.alias_changed(ctl->fleet.arg, fn, alias, gen,
                                 json_object_get(json_object_get(ctl->overrides, fn), alias));
    a->status = 200;
    a->body = control_alias_state(ctl, fn, alias);
    if (!a->body)
        goto oom;
    log_info("alias %s:%s set to %s (generation %llu)", fn, alias,
             json_string_value(json_object_get(state, "version")),
             (unsigned long long)control_alias_generation(ctl, fn, alias));
    goto out;
oom:
    answer(a, 500, "out of memory");
out:
    free(made_on);
    json_decref(saved);
    json_decref(state);
    json_decref(before);
    json_decref(doc);
}

/* The highest published number among versions, 0 when none. */
static uint64_t highest_version(const json_t *versions)
{
    const char *k;
    json_t *v;
    uint64_t hi = 0, n;

    json_object_foreach((json_t *)versions, k, v)
        if (parse_u64((struct slice){ k, strlen(k) }, UINT32_MAX, &n) == 0 && n > hi)
            hi = n;
    return hi;
}

void control_publish(struct control *ctl, const char *fn, json_t *def, struct control_answer *a)
{
    json_t *before = NULL, *doc = NULL, *versions, *saved = NULL;
    const char *k;
    json_t *v;
    char num[24];
    uint64_t next;

    if (!json_is_object(def)) {
        answer(a, 400, "expected a JSON object: {} or a version definition");
        return;
    }
    if (!(before = merged_doc(ctl->file_doc, ctl->published, ctl->overrides)))
        goto oom;
    versions = json_object_get(doc_function(before, fn), "versions");
    if (!json_is_object(versions)) {
        answer(a, 404, "no function %s", fn);
        goto out;
    }
    if (json_object_size(def) == 0) {
        def = json_object_get(versions, "$LATEST");
        if (!def) {
            answer(a, 400, "function %s has no $LATEST version to publish", fn);
            goto out;
        }
    }
    json_object_foreach(versions, k, v)
    {
        if (strcmp(k, "$LATEST") != 0 && same_json(v, def)) {
            a->status = 200;
            a->body = json_pack("{s:s, s:b}", "version", k, "created", 0);
            if (!a->body)
                goto oom;
            goto out;
        }
    }
    next = highest_version(versions) + 1;
    if (next > UINT32_MAX) {
        answer(a, 400, "no version numbers left");
        goto out;
    }
    num[u64_to_dec(num, next)] = '\0';
    if (!(saved = json_deep_copy(ctl->published)) ||
        set2(ctl->published, fn, num, json_deep_copy(def)) < 0 ||
        !(doc = merged_doc(ctl->file_doc, ctl->published, ctl->overrides)))
        goto oom;
    if (try_install(ctl, doc, before, a) < 0) {
        json_decref(ctl->published);
        ctl->published = saved;
        saved = NULL;
        goto out;
    }
    control_state_write(ctl);
    if (ctl->fleet.version_published)
        ctl->fleet.version_published(ctl->fleet.arg, fn, num, def);
    log_info("function %s: published version %s", fn, num);
    a->status = 201;
    a->body = json_pack("{s:s, s:b}", "version", num, "created", 1);
    if (!a->body)
        goto oom;
    goto out;
oom:
    answer(a, 500, "out of memory");
out:
    json_decref(saved);
    json_decref(before);
    json_decref(doc);
}

int control_render_metrics(struct control *ctl, struct evbuffer *out)
{
    const struct config *c = ctl->cfg;
    int rc = 0;

    rc |= evbuffer_add_printf(out, "# HELP sluice_alias_weight Share of an alias's traffic each "
                                   "version gets (before pins and stickiness).\n"
                                   "# TYPE sluice_alias_weight gauge\n");
    for (size_t i = 0; i < c->nfunctions; i++) {
        const struct function *fn = &c->functions[i];
        for (size_t j = 0; j < fn->naliases; j++) {
            const struct alias *al = &fn->aliases[j];
            double rest = 1;
            for (size_t k = 0; k < al->nweights; k++) {
                rest -= al->weights[k].weight;
                rc |= evbuffer_add_printf(out,
                                          "sluice_alias_weight{function=\"%s\",alias=\"%s\","
                                          "version=\"%s\"} %g\n",
                                          fn->name, al->name, al->weights[k].version->name,
                                          al->weights[k].weight);
            }
            rc |= evbuffer_add_printf(out,
                                      "sluice_alias_weight{function=\"%s\",alias=\"%s\","
                                      "version=\"%s\"} %g\n",
                                      fn->name, al->name, al->primary->name, rest < 0 ? 0 : rest);
        }
    }
    rc |= evbuffer_add_printf(out, "# HELP sluice_alias_generation Changes made to an alias's "
                                   "state.\n# TYPE sluice_alias_generation gauge\n");
    for (size_t i = 0; i < c->nfunctions; i++)
        for (size_t j = 0; j < c->functions[i].naliases; j++)
            rc |= evbuffer_add_printf(
                out, "sluice_alias_generation{function=\"%s\",alias=\"%s\"} %llu\n",
                c->functions[i].name, c->functions[i].aliases[j].name,
                (unsigned long long)control_alias_generation(ctl, c->functions[i].name,
                                                             c->functions[i].aliases[j].name));
    return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ fleet */

void control_set_fleet(struct control *ctl, const struct control_fleet *f)
{
    if (f)
        ctl->fleet = *f;
    else
        memset(&ctl->fleet, 0, sizeof(ctl->fleet));
}

json_t *control_alias_override(struct control *ctl, const char *fn, const char *alias)
{
    return json_object_get(json_object_get(ctl->overrides, fn), alias);
}

/* Rebuilds and installs after a change adopted from the fleet; on failure
 * the old runtime state comes back. */
static int adopt(struct control *ctl, json_t *before, json_t *saved_overrides,
                 json_t *saved_published)
{
    struct control_answer a = { 0 };
    json_t *doc = merged_doc(ctl->file_doc, ctl->published, ctl->overrides);
    int rc = doc ? try_install(ctl, doc, before, &a) : -1;

    json_decref(doc);
    if (rc < 0) {
        log_error("fleet: a change from another instance does not fit this config: %s",
                  a.body ? json_string_value(json_object_get(a.body, "message")) : a.message);
        json_decref(a.body);
        json_decref(ctl->overrides);
        json_decref(ctl->published);
        ctl->overrides = saved_overrides;
        ctl->published = saved_published;
        return -1;
    }
    json_decref(saved_overrides);
    json_decref(saved_published);
    control_state_write(ctl);
    return 0;
}

int control_alias_adopt(struct control *ctl, const char *fn, const char *alias,
                        const json_t *override, uint64_t generation)
{
    json_t *before = merged_doc(ctl->file_doc, ctl->published, ctl->overrides);
    json_t *so = json_deep_copy(ctl->overrides), *sp = json_deep_copy(ctl->published);
    int rc = -1;

    if (!before || !so || !sp || !doc_alias(ctl->file_doc, fn, alias)) {
        json_decref(so);
        json_decref(sp);
        goto out;
    }
    if (override && json_is_object(override))
        set2(ctl->overrides, fn, alias, json_deep_copy(override));
    else
        del2(ctl->overrides, fn, alias);
    rc = adopt(ctl, before, so, sp);
    if (rc == 0) {
        set2(ctl->generations, fn, alias, json_integer((json_int_t)generation));
        control_state_write(ctl);
    }
out:
    json_decref(before);
    return rc;
}

int control_version_adopt(struct control *ctl, const char *fn, const char *number,
                          const json_t *def)
{
    json_t *before, *so, *sp;
    json_t *have = json_object_get(json_object_get(ctl->published, fn), number);

    if (have && same_json(have, def))
        return 0;
    before = merged_doc(ctl->file_doc, ctl->published, ctl->overrides);
    so = json_deep_copy(ctl->overrides);
    sp = json_deep_copy(ctl->published);
    if (!before || !so || !sp || set2(ctl->published, fn, number, json_deep_copy(def)) < 0) {
        json_decref(before);
        json_decref(so);
        json_decref(sp);
        return -1;
    }
    if (adopt(ctl, before, so, sp) < 0) {
        json_decref(before);
        return -1;
    }
    json_decref(before);
    log_info("fleet: function %s: version %s published by another instance", fn, number);
    return 0;
}

void control_set_generation(struct control *ctl, const char *fn, const char *alias,
                            uint64_t generation)
{
    set2(ctl->generations, fn, alias, json_integer((json_int_t)generation));
}

json_t *control_published(struct control *ctl)
{
    return ctl->published;
}
