/* fuzz_tokens.h - written by make_seeds.py: tokens signed with tests/fuzz/keys/
 * and FUZZ_HS_SECRET (claims: iss FUZZ_ISSUER, aud "api", exp 1800000000). */
#ifndef SLUICE_FUZZ_TOKENS_H
#define SLUICE_FUZZ_TOKENS_H

static const char *const fuzz_tokens[] = {
    /* hs256 */
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImhzMSJ9.eyJpc3MiOiJodHRwczovL2lzc3Vlci50ZXN0L"
    "yIsImF1ZCI6ImFwaSIsInN1YiI6InVzZXItMSIsImlhdCI6MTY5OTk5MDAwMCwiZXhwIjoxODAwMDAwMDAwLCJzY29"
    "wZSI6InJlYWQgd3JpdGU6b3JkZXJzIn0.AjsQQsnAHic5lwFGrnuux30QhnxU-v4frgoXhgBK8BI",
    /* rs256 */
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYTEifQ.eyJpc3MiOiJodHRwczovL2lzc3Vlci50ZXN"
    "0LyIsImF1ZCI6ImFwaSIsInN1YiI6InVzZXItMSIsImlhdCI6MTY5OTk5MDAwMCwiZXhwIjoxODAwMDAwMDAwLCJzY"
    "29wZSI6InJlYWQgd3JpdGU6b3JkZXJzIn0.JJHq1CvxSxbq0Tp0yrnB5Sl9CEugRyngbI6lNanUSq6hDFPF1PbqGNJ"
    "0kDou9metv3WDbWNTV2I1h8CeTl4Q4Zdp-Ga88jtX4NxNyJG-mfi6ceaAsUEq2QYPTcUcn8KUMgx-IXvOtEPscEkzE"
    "bdudqMYpAL0IKV8zqtzhMgdz7JP2UzsZeLqY--D_TSKHgHcBxOK6Lz_frOC3FyPJ6mKiL6rgw9yXVwIOqQhCguH1Mc"
    "s7YMTY92JhHOFICAvnjbIotTl6Nb6JZP031xV8ke4cNFEQLtXzyfwraENa2i6nFi28xaR_CGVFU9EmLInU7dzDmV8a"
    "5oYq2AqHb7vrVxrtQ",
    /* ps256 */
    "eyJhbGciOiJQUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYTEifQ.eyJpc3MiOiJodHRwczovL2lzc3Vlci50ZXN"
    "0LyIsImF1ZCI6ImFwaSIsInN1YiI6InVzZXItMSIsImlhdCI6MTY5OTk5MDAwMCwiZXhwIjoxODAwMDAwMDAwLCJzY"
    "29wZSI6InJlYWQgd3JpdGU6b3JkZXJzIn0.WdeGe6W7dCZicFM_GZJeB_qhB2xrNgWWMwut5IeY3Gvm5oliEmoEhs-"
    "u-b1MD5V7saYeBzAEH4ZDkaCWWIIQnTgpR8e2IkDHQOAaOUd3Tohml8pVJu0w06k7bRj4HTEg_W4DySVPYEZbu03Cx"
    "kR_YCLr8og8fkkNAcnEn3B6m-1bxp6krmv4JZmY7W7zJ5jaFK_X1BhwhiHjvl3c-zZJN8es7-isxFOFgydJ3rXuHFB"
    "_wZS8X09GlgdIJfRfgHtEk1S5ngFzUHynExu22ojAbsTRxs9232_rkwS4eoUSrTX4gm8HjM1fcUFwrtfRODtBQe3uF"
    "u493eDkqL7P1_DrEw",
    /* rs256_nokid */
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2lzc3Vlci50ZXN0LyIsImF1ZCI6ImFwa"
    "SIsInN1YiI6InVzZXItMSIsImlhdCI6MTY5OTk5MDAwMCwiZXhwIjoxODAwMDAwMDAwLCJzY29wZSI6InJlYWQgd3J"
    "pdGU6b3JkZXJzIn0.iWwnRLAJllqxvsOK9wJg1-NM5fjUnWSt1IwHvunnnevqYoIpcEeZWUziSO6DuZkk7Q31JdiPX"
    "d_wJ556s_1HkRqdjKcI915VUrD61XEpxq5oLIcN4873OgzekK_cAW3jDBG04k-gzsLphSqyflVWDRg1ux6xH7zTs6k"
    "32CzjtLE9d-HqEC7YL3p0QuijTah8ytrRjWHlXRzm9V5GFAjfL1E355DHPh8qlZXA01bjRIgQFG10fZZgocmhqWjOg"
    "U9djwoVUNfea00QW2AdUT9O94z4r0uEjtqoA4m0ggjNw9ffJMDrinYTwztpQDmPquRYXKeLF81j4cH_rZ9H8tcm-w",
    /* es256 */
    "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImVjMSJ9.eyJpc3MiOiJodHRwczovL2lzc3Vlci50ZXN0L"
    "yIsImF1ZCI6ImFwaSIsInN1YiI6InVzZXItMSIsImlhdCI6MTY5OTk5MDAwMCwiZXhwIjoxODAwMDAwMDAwLCJzY29"
    "wZSI6InJlYWQgd3JpdGU6b3JkZXJzIn0.dexufK__GULO8rZngTLod_n0vT7VUiBAiEgOlUTr3WvNWW2WRVJ_M57Ww"
    "vfKuQ7ISyYMSh96poOXem1HuNSu2A",
    /* eddsa */
    "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6ImVkMSJ9.eyJpc3MiOiJodHRwczovL2lzc3Vlci50ZXN0L"
    "yIsImF1ZCI6ImFwaSIsInN1YiI6InVzZXItMSIsImlhdCI6MTY5OTk5MDAwMCwiZXhwIjoxODAwMDAwMDAwLCJzY29"
    "wZSI6InJlYWQgd3JpdGU6b3JkZXJzIn0.pbyCDZz6djT7L6i2LfaoxYapdcHTfEYDmLf4d-jfBRFxTNCDWcghXVBaO"
    "F8rS4NvZbNAOcPmuFk8at0iNtyrBA",
    /* hs256_nokid */
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2lzc3Vlci50ZXN0LyIsImF1ZCI6ImFwa"
    "SIsInN1YiI6InVzZXItMSIsImlhdCI6MTY5OTk5MDAwMCwiZXhwIjoxODAwMDAwMDAwLCJzY29wZSI6InJlYWQgd3J"
    "pdGU6b3JkZXJzIn0.M1z9hbc8oyi0DdWAZ-5J52ffY3fEMK0fBNrZTjBFv_c",
};

#endif
