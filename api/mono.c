/* mono.c - the monotonic clock the API measures and pads with: request
 * durations, idle timeouts, and the answer-time floors that keep a
 * sign-up, claim or reset from telling by its speed whether an address
 * exists. Monotonic so that a wall-clock step never shortens a floor. */
#include "api_int.h"

#include <time.h>

int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t mono_ms(void)
{
    return mono_us() / 1000;
}

void sleep_until_us(int64_t due_us)
{
    int64_t left = due_us - mono_us();
    if (left <= 0)
        return;
    struct timespec ts = { (time_t)(left / 1000000), (long)(left % 1000000) * 1000 };
    /* EINTR leaves the rest in ts: sleep it, the floor is a promise. */
    while (nanosleep(&ts, &ts) != 0)
        ;
}
