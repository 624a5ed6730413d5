/* paths.c - see paths.h. */
#include "paths.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *paths_share(const char *name, const char *fallback, char *out, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;
    struct stat sb;
    if (n > 0) {
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0'; /* PREFIX/bin */
            int m = snprintf(out, len, "%s/../share/ticketd/%s", exe, name);
            if (m > 0 && (size_t)m < len && stat(out, &sb) == 0)
                return out;
        }
    }
    snprintf(out, len, "%s", fallback);
    return out;
}
