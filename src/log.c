/* log.c - error and access log files, reopen by dup2, levelled messages. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* A log destination: the descriptor writers use and, for files, the path
 * a reopen goes back to. Only the main thread changes these. */
struct log_file {
    int fd;
    char path[4096];
};

static struct log_file error_log = { STDERR_FILENO, "" };
static struct log_file access_log = { STDOUT_FILENO, "" };
static atomic_int log_level = LOG_LEVEL_INFO;

static const char *level_names[] = { "error", "warn", "info", "debug" };

static int open_target(const char *target, char *err, size_t errlen)
{
    int fd;

    if (strcmp(target, "stderr") == 0)
        return STDERR_FILENO;
    if (strcmp(target, "stdout") == 0)
        return STDOUT_FILENO;
    fd = open(target, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        fmt_buf(err, errlen, "cannot open log file %s: %s", target, strerror(errno));
    return fd;
}

/* Points lf at target. A file replaces the old descriptor in place when it
 * was a file too (dup2), so concurrent writers keep a valid descriptor. */
static int log_file_set(struct log_file *lf, const char *target, char *err, size_t errlen)
{
    int fd;

    if (strcmp(target, "off") == 0) {
        lf->fd = -1;
        lf->path[0] = '\0';
        return 0;
    }
    fd = open_target(target, err, errlen);
    if (fd < 0)
        return -1;
    if (fd <= STDERR_FILENO) {
        lf->fd = fd;
        lf->path[0] = '\0';
        return 0;
    }
    if (lf->fd > STDERR_FILENO) {
        if (dup2(fd, lf->fd) < 0) {
            fmt_buf(err, errlen, "cannot switch log file %s: %s", target, strerror(errno));
            close(fd);
            return -1;
        }
        close(fd);
    } else {
        lf->fd = fd;
    }
    if (fmt_buf(lf->path, sizeof(lf->path), "%s", target) < 0) {
        fmt_buf(err, errlen, "log path too long");
        return -1;
    }
    return 0;
}

int log_open(const struct log_conf *lc, char *err, size_t errlen)
{
    if (log_file_set(&error_log, lc->error, err, errlen) < 0)
        return -1;
    if (log_file_set(&access_log, lc->access, err, errlen) < 0)
        return -1;
    atomic_store(&log_level, (int)lc->level);
    return 0;
}

static int reopen_one(struct log_file *lf)
{
    char err[256];
    char path[sizeof(lf->path)];

    if (lf->fd <= STDERR_FILENO || lf->path[0] == '\0')
        return 0;
    memcpy(path, lf->path, sizeof(path));
    if (log_file_set(lf, path, err, sizeof(err)) < 0) {
        log_error("%s", err);
        return -1;
    }
    return 0;
}

int log_reopen(void)
{
    int rc = 0;

    if (reopen_one(&error_log) < 0)
        rc = -1;
    if (reopen_one(&access_log) < 0)
        rc = -1;
    return rc;
}

int log_access_fd(void)
{
    return access_log.fd;
}

static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* a log that cannot be written must not stop serving */
        }
        p += n;
        len -= (size_t)n;
    }
}

void log_access_write(const char *line, size_t len)
{
    if (access_log.fd >= 0)
        write_all(access_log.fd, line, len);
}

char *log_time_iso(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    fmt_buf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    return buf;
}

int log_enabled(enum log_level level)
{
    return (int)level <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    char line[2048];
    char ts[40];
    va_list ap;
    int n, m;

    if (!log_enabled(level) || error_log.fd < 0)
        return;
    n = fmt_buf(line, sizeof(line), "%s [%s] ", log_time_iso(ts, sizeof(ts)), level_names[level]);
    if (n < 0)
        return;
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    n += m;
    if ((size_t)n > sizeof(line) - 2)
        n = sizeof(line) - 2; /* truncated message: still one whole line */
    line[n++] = '\n';
    write_all(error_log.fd, line, (size_t)n);
}
