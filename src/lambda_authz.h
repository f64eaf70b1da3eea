/* lambda_authz.h - Lambda authorizers as API Gateway has them: the TOKEN
 * and REQUEST events a function (or a Lua authorizer) gets, and what its
 * answer means: an IAM-style policy with Allow/Deny statements on
 * execute-api:Invoke resources (with * and ? wildcards, Deny winning), or
 * a simple {"isAuthorized": ...}; a principalId and a context passed on.
 * Pure: no I/O. The authorize stage (authz.c) invokes the function. */
#ifndef SLUICE_LAMBDA_AUTHZ_H
#define SLUICE_LAMBDA_AUTHZ_H

#include <jansson.h>
#include <stddef.h>

#include "util.h"

struct request;
struct authorizer;

/* The ARN a policy's resources are matched against:
 * "arn:aws:execute-api:local:000000000000:sluice/$default/METHOD/path"
 * (path without the query, without its leading '/'). Writes it to out
 * (capacity cap) and returns 0, or -1 when it does not fit. */
int lambda_authz_method_arn(const struct request *req, char *out, size_t cap);

/* The TOKEN event: {"type":"TOKEN","authorizationToken":token,
 * "methodArn":arn}. New reference or NULL (out of memory). */
json_t *lambda_authz_token_event(struct slice token, const char *method_arn);

/* Makes event (a payload 1.0 or 2.0 proxy event of the request, taken
 * over) a REQUEST authorizer event: adds "type":"REQUEST" and
 * "methodArn" (1.0) or "routeArn" and "identitySource" (2.0, the values
 * given). Returns event, or NULL (event freed) when out of memory. */
json_t *lambda_authz_request_event(json_t *event, int v2, const char *method_arn,
                                   const struct slice *ids, size_t nids);

/* What an authorizer answered. */
struct lambda_authz_answer {
    int simple;        /* {"isAuthorized": ...} form */
    int authorized;    /* simple form: its value */
    json_t *policy;    /* policy form: the policyDocument (a reference) */
    char *principal;   /* principalId, or NULL */
    json_t *context;   /* context object (a reference), or NULL */
};

/* Reads an answer. Returns 0, or -1 with why (capacity cap) when it is
 * neither form, a policy is malformed (no Statement, an Effect other than
 * Allow/Deny, Action or Resource not a string or list of strings), or the
 * context holds something other than strings, numbers and booleans (as
 * API Gateway requires). out owns its references: lambda_authz_answer_clear. */
int lambda_authz_read(const json_t *answer, struct lambda_authz_answer *out, char *why,
                      size_t cap);
void lambda_authz_answer_clear(struct lambda_authz_answer *a);

/* Whether policy lets arn be invoked: 1 when a statement allows
 * execute-api:Invoke on it and none denies it, else 0. */
int lambda_authz_policy_allows(const json_t *policy, const char *arn);

/* Glob match of an ARN pattern: '*' any run of characters, '?' one. */
int lambda_authz_arn_match(const char *pattern, const char *arn);

#endif
