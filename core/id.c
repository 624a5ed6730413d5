/* id.c - see id.h. */
#include "id.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

void id_new(char out[TD_ID_LEN + 1])
{
    unsigned char raw[TD_ID_LEN / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, TD_ID_LEN + 1, raw, sizeof raw);
}

void id_new_sorted(char out[TD_ID_LEN + 1])
{
    unsigned char raw[TD_ID_LEN / 2];
    uint64_t ms = (uint64_t)td_now();
    for (int i = 0; i < 6; i++) /* big-endian: hex order is time order */
        raw[i] = (unsigned char)(ms >> (8 * (5 - i)));
    randombytes_buf(raw + 6, sizeof raw - 6);
    sodium_bin2hex(out, TD_ID_LEN + 1, raw, sizeof raw);
}

bool id_valid(const char *s)
{
    if (s == NULL || strlen(s) != TD_ID_LEN)
        return false;
    for (size_t i = 0; i < TD_ID_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

td_time td_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (td_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
