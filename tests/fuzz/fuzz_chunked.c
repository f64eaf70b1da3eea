/* fuzz_chunked.c - the chunked transfer-coding decoder, fed in random splits.
 *
 * Input: 4 parameter bytes, then a chunked body as it would follow a head:
 *   byte 0  trailer allowance: max_trailer_bytes = byte * 4
 *   byte 1  backpressure: max_out = byte + 1 per call, or unlimited when
 *           the byte is 0x80 or more
 *   byte 2, 3  seed of the split points
 * (shorter inputs: the whole input is the body, defaults for the rest).
 *
 * The body is decoded twice: once handed over whole with no output limit,
 * once fed in pieces of 1 to a few hundred bytes with max_out per call, as
 * the proxy does with a slow client and a slow upstream. Both must end the
 * same way (complete, needs more, or bad framing), with the same body bytes
 * out and, when complete, the same bytes left after the message: where a
 * chunked message ends must not depend on how it arrived (that difference
 * is what request smuggling is made of). Once complete or failed the
 * decoder stays so. */
#include <string.h>

#include <event2/buffer.h>

#include "fuzz.h"
#include "http_parser.h"

struct run {
    int rc;
    struct evbuffer *out, *in;
};

static uint32_t next_rand(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Calls the decoder until it completes, fails or makes no more progress. */
static int drain(struct http_chunked *c, struct evbuffer *in, struct evbuffer *out, size_t max_out)
{
    for (;;) {
        size_t before_in = evbuffer_get_length(in), before_out = evbuffer_get_length(out);
        size_t moved = (size_t)-1;
        int rc = http_chunked_decode(c, in, out, max_out, &moved);

        FUZZ_CHECK(rc >= -1 && rc <= 1);
        FUZZ_CHECK(moved <= max_out);
        FUZZ_CHECK(evbuffer_get_length(out) == before_out + moved);
        FUZZ_CHECK(evbuffer_get_length(in) <= before_in - moved);
        if (rc != 0)
            return rc;
        if (evbuffer_get_length(in) == before_in)
            return 0; /* needs more input */
    }
}

static int same_bytes(struct evbuffer *a, struct evbuffer *b)
{
    size_t n = evbuffer_get_length(a);
    unsigned char *pa, *pb;

    if (n != evbuffer_get_length(b))
        return 0;
    if (n == 0)
        return 1;
    pa = evbuffer_pullup(a, -1);
    pb = evbuffer_pullup(b, -1);
    return pa && pb && memcmp(pa, pb, n) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t max_trailer = 256, max_out = (size_t)-1, fed = 0;
    uint32_t seed = 0x9e3779b9u;
    struct http_chunked c1, c2;
    struct run whole = { 0 }, split = { 0 };
    size_t moved;

    if (size >= 4) {
        max_trailer = (size_t)data[0] * 4;
        if (data[1] < 0x80)
            max_out = (size_t)data[1] + 1;
        seed ^= (uint32_t)data[2] << 8 | data[3];
        data += 4;
        size -= 4;
    }
    whole.in = evbuffer_new();
    whole.out = evbuffer_new();
    split.in = evbuffer_new();
    split.out = evbuffer_new();
    if (!whole.in || !whole.out || !split.in || !split.out)
        goto out;

    /* all at once */
    http_chunked_init(&c1, max_trailer);
    evbuffer_add(whole.in, data, size);
    whole.rc = http_chunked_decode(&c1, whole.in, whole.out, (size_t)-1, &moved);
    FUZZ_CHECK(moved == evbuffer_get_length(whole.out));

    /* in pieces, with backpressure */
    http_chunked_init(&c2, max_trailer);
    split.rc = 0;
    while (fed < size && split.rc == 0) {
        uint32_t r = next_rand(&seed);
        size_t piece = (r & 0x300) == 0x300 ? r % 512 : 1 + r % 8;
        if (piece > size - fed)
            piece = size - fed;
        evbuffer_add(split.in, data + fed, piece);
        fed += piece;
        split.rc = drain(&c2, split.in, split.out, max_out);
    }
    if (split.rc == 0) /* all fed: what is left is what one call would see */
        split.rc = drain(&c2, split.in, split.out, max_out);
    /* the rest of the input stays where it is once the message ended */
    if (split.rc == 1 && fed < size)
        evbuffer_add(split.in, data + fed, size - fed);

    FUZZ_CHECK(whole.rc == split.rc);
    FUZZ_CHECK(same_bytes(whole.out, split.out));
    if (whole.rc == 1)
        FUZZ_CHECK(same_bytes(whole.in, split.in));

    /* a finished or failed decoder stays so, and moves nothing */
    if (whole.rc != 0) {
        size_t left = evbuffer_get_length(whole.in);
        int again = http_chunked_decode(&c1, whole.in, whole.out, (size_t)-1, &moved);
        FUZZ_CHECK(again == whole.rc && moved == 0 && evbuffer_get_length(whole.in) == left);
    }

out:
    if (whole.in)
        evbuffer_free(whole.in);
    if (whole.out)
        evbuffer_free(whole.out);
    if (split.in)
        evbuffer_free(split.in);
    if (split.out)
        evbuffer_free(split.out);
    return 0;
}
