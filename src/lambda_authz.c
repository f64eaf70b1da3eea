/* lambda_authz.c - Lambda authorizer events and answers. */
#include "lambda_authz.h"

#include <stdlib.h>
#include <string.h>

#include "request.h"

#define ARN_PREFIX "arn:aws:execute-api:local:000000000000:sluice/$default/"

int lambda_authz_method_arn(const struct request *req, char *out, size_t cap)
{
    struct slice m = req->head.method, p = req->head.path;

    if (p.len > 0 && p.ptr[0] == '/') {
        p.ptr++;
        p.len--;
    }
    return fmt_buf(out, cap, "%s%.*s/%.*s", ARN_PREFIX, (int)m.len, m.ptr, (int)p.len, p.ptr);
}

json_t *lambda_authz_token_event(struct slice token, const char *method_arn)
{
    return json_pack("{s:s, s:s%, s:s}", "type", "TOKEN", "authorizationToken", token.ptr,
                     token.len, "methodArn", method_arn);
}

json_t *lambda_authz_request_event(json_t *event, int v2, const char *method_arn,
                                   const struct slice *ids, size_t nids)
{
    json_t *list;
    int rc;

    if (!event)
        return NULL;
    rc = json_object_set_new(event, "type", json_string("REQUEST"));
    if (!v2) {
        rc |= json_object_set_new(event, "methodArn", json_string(method_arn));
    } else {
        rc |= json_object_set_new(event, "routeArn", json_string(method_arn));
        list = json_array();
        for (size_t i = 0; list && i < nids; i++)
            rc |= json_array_append_new(list, json_stringn(ids[i].ptr, ids[i].len));
        rc |= json_object_set_new(event, "identitySource", list ? list : json_null());
    }
    if (rc) {
        json_decref(event);
        return NULL;
    }
    return event;
}

void lambda_authz_answer_clear(struct lambda_authz_answer *a)
{
    json_decref(a->policy);
    json_decref(a->context);
    free(a->principal);
    memset(a, 0, sizeof(*a));
}

/* A string, or a non-empty list of strings. */
static int strings_ok(const json_t *v)
{
    size_t i;
    json_t *e;

    if (json_is_string(v))
        return 1;
    if (!json_is_array(v) || json_array_size(v) == 0)
        return 0;
    json_array_foreach((json_t *)v, i, e)
        if (!json_is_string(e))
            return 0;
    return 1;
}

static int policy_ok(const json_t *policy, char *why, size_t cap)
{
    json_t *st = json_object_get(policy, "Statement"), *s;
    size_t i;

    if (!json_is_object(policy) || !(json_is_array(st) || json_is_object(st))) {
        fmt_buf(why, cap, "policyDocument without a Statement");
        return 0;
    }
    if (json_is_object(st)) /* one statement may stand alone */
        st = json_pack("[O]", st);
    else
        json_incref(st);
    json_array_foreach(st, i, s)
    {
        const char *effect = json_string_value(json_object_get(s, "Effect"));
        if (!effect || (strcmp(effect, "Allow") != 0 && strcmp(effect, "Deny") != 0) ||
            !strings_ok(json_object_get(s, "Action")) ||
            !strings_ok(json_object_get(s, "Resource"))) {
            fmt_buf(why, cap,
                    "policyDocument.Statement[%zu]: needs Effect Allow or Deny, and Action "
                    "and Resource as strings",
                    i);
            json_decref(st);
            return 0;
        }
    }
    json_decref(st);
    return 1;
}

int lambda_authz_read(const json_t *answer, struct lambda_authz_answer *out, char *why,
                      size_t cap)
{
    json_t *ctx, *pid, *auth, *policy, *v;
    const char *k;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(answer)) {
        fmt_buf(why, cap, "the authorizer's answer is not a JSON object");
        return -1;
    }
    ctx = json_object_get(answer, "context");
    if (ctx && !json_is_null(ctx)) {
        if (!json_is_object(ctx)) {
            fmt_buf(why, cap, "context is not an object");
            return -1;
        }
        json_object_foreach(ctx, k, v)
            if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v)) {
                fmt_buf(why, cap, "context.%.60s: only strings, numbers and booleans", k);
                return -1;
            }
        out->context = json_incref(ctx);
    }
    pid = json_object_get(answer, "principalId");
    if (pid && !json_is_null(pid)) {
        if (!json_is_string(pid) || !(out->principal = strdup(json_string_value(pid)))) {
            fmt_buf(why, cap, json_is_string(pid) ? "out of memory" : "principalId is not a string");
            lambda_authz_answer_clear(out);
            return -1;
        }
    }
    auth = json_object_get(answer, "isAuthorized");
    policy = json_object_get(answer, "policyDocument");
    if (json_is_boolean(auth)) {
        out->simple = 1;
        out->authorized = json_is_true(auth);
        return 0;
    }
    if (!policy) {
        fmt_buf(why, cap, "neither isAuthorized nor policyDocument in the answer");
        lambda_authz_answer_clear(out);
        return -1;
    }
    if (!policy_ok(policy, why, cap)) {
        lambda_authz_answer_clear(out);
        return -1;
    }
    out->policy = json_incref(policy);
    return 0;
}

int lambda_authz_arn_match(const char *p, const char *s)
{
    const char *star = NULL, *retry = NULL;

    /* the classic iterative glob: on a mismatch, let the last '*' eat one
     * more character; linear in practice, never recursive */
    while (*s) {
        if (*p == '*') {
            star = p++;
            retry = s;
        } else if (*p == '?' || *p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++retry;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* Whether a string-or-list field has a pattern matching subject
 * ("execute-api:*" and "*" match the action too). */
static int any_matches(const json_t *v, const char *subject)
{
    size_t i;
    json_t *e;

    if (json_is_string(v))
        return lambda_authz_arn_match(json_string_value(v), subject);
    json_array_foreach((json_t *)v, i, e)
        if (json_is_string(e) && lambda_authz_arn_match(json_string_value(e), subject))
            return 1;
    return 0;
}

int lambda_authz_policy_allows(const json_t *policy, const char *arn)
{
    json_t *st = json_object_get(policy, "Statement"), *s;
    int allowed = 0;
    size_t i;

    if (json_is_object(st)) {
        st = json_pack("[O]", st);
    } else if (json_is_array(st)) {
        json_incref(st);
    } else {
        return 0;
    }
    json_array_foreach(st, i, s)
    {
        const char *effect = json_string_value(json_object_get(s, "Effect"));
        if (!effect || !any_matches(json_object_get(s, "Action"), "execute-api:Invoke") ||
            !any_matches(json_object_get(s, "Resource"), arn))
            continue;
        if (strcmp(effect, "Deny") == 0) {
            allowed = 0;
            break; /* an explicit Deny wins over every Allow */
        }
        if (strcmp(effect, "Allow") == 0)
            allowed = 1;
    }
    json_decref(st);
    return allowed;
}
