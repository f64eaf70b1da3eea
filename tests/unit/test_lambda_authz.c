/* test_lambda_authz.c - Lambda authorizer answers: policies, wildcards,
 * Deny over Allow, the simple form, malformed answers. */
#include "lambda_authz.h"
#include "unit.h"

#include <string.h>

#define ARN "arn:aws:execute-api:local:000000000000:sluice/$default/GET/orders/42"

static json_t *parse(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    CHECKF(v != NULL, "bad test JSON: %s", text);
    return v;
}

static void test_arn_match(void)
{
    CHECK(lambda_authz_arn_match("*", ARN));
    CHECK(lambda_authz_arn_match(ARN, ARN));
    CHECK(lambda_authz_arn_match("arn:aws:execute-api:*:*:*/*/GET/*", ARN));
    CHECK(lambda_authz_arn_match("arn:aws:execute-api:local:000000000000:sluice/$default/GET/orders/4?",
                                 ARN));
    CHECK(!lambda_authz_arn_match("arn:aws:execute-api:*:*:*/*/POST/*", ARN));
    CHECK(!lambda_authz_arn_match("arn:aws:execute-api:*:*:*/*/GET/orders", ARN));
    CHECK(lambda_authz_arn_match("execute-api:*", "execute-api:Invoke"));
    CHECK(!lambda_authz_arn_match("execute-api:Inv", "execute-api:Invoke"));
    CHECK(lambda_authz_arn_match("**a*b*c**", "xxaxxbxxc"));
    CHECK(!lambda_authz_arn_match("*a*b*c", "xxaxxbxxcx"));
    CHECK(lambda_authz_arn_match("", "") && !lambda_authz_arn_match("", "x"));
}

static int allows(const char *answer_text, const char *arn)
{
    struct lambda_authz_answer a;
    char why[200];
    json_t *v = parse(answer_text);
    int r = -1;

    if (v && lambda_authz_read(v, &a, why, sizeof(why)) == 0) {
        r = a.simple ? a.authorized : lambda_authz_policy_allows(a.policy, arn);
        lambda_authz_answer_clear(&a);
    }
    json_decref(v);
    return r;
}

static void test_policies(void)
{
    const char *allow_get =
        "{\"principalId\":\"u1\",\"policyDocument\":{\"Version\":\"2012-10-17\",\"Statement\":"
        "[{\"Action\":\"execute-api:Invoke\",\"Effect\":\"Allow\",\"Resource\":"
        "\"arn:aws:execute-api:*:*:*/*/GET/*\"}]}}";
    const char *deny_wins =
        "{\"principalId\":\"u1\",\"policyDocument\":{\"Statement\":["
        "{\"Action\":\"execute-api:Invoke\",\"Effect\":\"Allow\",\"Resource\":\"*\"},"
        "{\"Action\":[\"execute-api:Invoke\"],\"Effect\":\"Deny\",\"Resource\":"
        "[\"arn:aws:execute-api:*:*:*/*/GET/orders/42\"]}]}}";
    const char *other_action =
        "{\"policyDocument\":{\"Statement\":{\"Action\":\"s3:GetObject\",\"Effect\":\"Allow\","
        "\"Resource\":\"*\"}}}";
    const char *wild_action =
        "{\"policyDocument\":{\"Statement\":{\"Action\":\"execute-api:*\",\"Effect\":\"Allow\","
        "\"Resource\":\"*\"}}}";

    CHECK_INT(allows(allow_get, ARN), 1);
    CHECK_INT(allows(allow_get, "arn:aws:execute-api:local:000000000000:sluice/$default/POST/x"),
              0);
    CHECK_INT(allows(deny_wins, ARN), 0);
    CHECK_INT(allows(deny_wins, "arn:aws:execute-api:local:000000000000:sluice/$default/GET/x"),
              1);
    CHECK_INT(allows(other_action, ARN), 0);
    CHECK_INT(allows(wild_action, ARN), 1);
    CHECK_INT(allows("{\"isAuthorized\":true,\"context\":{\"tier\":\"gold\",\"n\":3}}", ARN), 1);
    CHECK_INT(allows("{\"isAuthorized\":false}", ARN), 0);
}

static void test_answer_fields(void)
{
    struct lambda_authz_answer a;
    char why[200];
    json_t *v = parse("{\"principalId\":\"user-7\",\"context\":{\"tenant\":\"acme\",\"vip\":true},"
                      "\"policyDocument\":{\"Statement\":[{\"Action\":\"*\",\"Effect\":\"Allow\","
                      "\"Resource\":\"*\"}]}}");

    CHECK_INT(lambda_authz_read(v, &a, why, sizeof(why)), 0);
    CHECK_STR(a.principal, "user-7");
    CHECK(a.context && strcmp(json_string_value(json_object_get(a.context, "tenant")), "acme") == 0);
    CHECK(!a.simple && a.policy);
    lambda_authz_answer_clear(&a);
    CHECK(a.policy == NULL && a.principal == NULL);
    json_decref(v);
}

static void test_malformed(void)
{
    static const char *const bad[] = {
        "[]",
        "{}",
        "{\"principalId\":\"x\"}",
        "{\"isAuthorized\":\"yes\"}",
        "{\"policyDocument\":{}}",
        "{\"policyDocument\":{\"Statement\":[{\"Effect\":\"Maybe\",\"Action\":\"*\","
        "\"Resource\":\"*\"}]}}",
        "{\"policyDocument\":{\"Statement\":[{\"Effect\":\"Allow\",\"Resource\":\"*\"}]}}",
        "{\"policyDocument\":{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
        "\"Resource\":[]}]}}",
        "{\"policyDocument\":{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
        "\"Resource\":[1]}]}}",
        "{\"isAuthorized\":true,\"context\":{\"nested\":{\"a\":1}}}",
        "{\"isAuthorized\":true,\"context\":[1]}",
        "{\"isAuthorized\":true,\"principalId\":5}",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct lambda_authz_answer a;
        char why[200] = "";
        json_t *v = parse(bad[i]);
        CHECKF(lambda_authz_read(v, &a, why, sizeof(why)) == -1, "accepted %s", bad[i]);
        CHECKF(why[0] != '\0', "no reason for %s", bad[i]);
        json_decref(v);
    }
}

static void test_events(void)
{
    const char tok[] = "Bearer abc";
    json_t *e = lambda_authz_token_event((struct slice){ tok, sizeof(tok) - 1 }, ARN);
    struct slice ids[2] = { { "k1", 2 }, { "k2", 2 } };

    CHECK(e != NULL);
    CHECK_STR(json_string_value(json_object_get(e, "type")), "TOKEN");
    CHECK_STR(json_string_value(json_object_get(e, "authorizationToken")), "Bearer abc");
    CHECK_STR(json_string_value(json_object_get(e, "methodArn")), ARN);
    json_decref(e);
    e = lambda_authz_request_event(json_object(), 1, ARN, ids, 2);
    CHECK(e != NULL);
    CHECK_STR(json_string_value(json_object_get(e, "routeArn")), ARN);
    CHECK_INT(json_array_size(json_object_get(e, "identitySource")), 2);
    json_decref(e);
    e = lambda_authz_request_event(json_object(), 0, ARN, ids, 2);
    CHECK_STR(json_string_value(json_object_get(e, "methodArn")), ARN);
    CHECK(json_object_get(e, "identitySource") == NULL);
    json_decref(e);
}

int main(void)
{
    test_arn_match();
    test_policies();
    test_answer_fields();
    test_malformed();
    test_events();
    return unit_done("test_lambda_authz");
}
