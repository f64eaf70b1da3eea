/* log.h - the error log (levelled text lines) and the log files behind both
 * logs. Files are opened by the main thread; workers only write. A reopen
 * (SIGUSR1) swaps the file under the same descriptor number with dup2(),
 * so writers never see a closed descriptor and need no lock. */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stddef.h>

#include "config.h"

/* Points the error log at target ("stderr", "stdout" or a path) with the
 * given level, and the access log at access ("off", "stdout", "stderr" or a
 * path). Call from the main thread before workers start and on reload.
 * Returns 0, or -1 with a reason in err when a file cannot be opened (the
 * previous logs stay in place). */
int log_open(const struct log_conf *lc, char *err, size_t errlen);

/* Reopens file logs at their paths (after rotation). Returns 0 or -1 (a
 * failure is also logged; the old files stay open). */
int log_reopen(void);

/* Descriptor of the access log, or -1 when it is off. */
int log_access_fd(void);

/* Writes len bytes to the access log in one write() (O_APPEND makes lines
 * from several workers land whole). */
void log_access_write(const char *line, size_t len);

/* Error log: one line "TIME [level] message". Thread-safe. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int log_enabled(enum log_level level);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                   \
    do {                                                                                 \
        if (log_enabled(LOG_LEVEL_DEBUG))                                                \
            log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);                                       \
    } while (0)

/* Formats the current UTC time as "2026-11-22T18:40:00.123Z" into buf
 * (at least 32 bytes). Returns buf. */
char *log_time_iso(char *buf, size_t cap);

#endif
