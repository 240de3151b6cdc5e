/*
 * Preloaded (LD_PRELOAD) into every interpreter the execution server starts, and inherited
 * by everything they run: fork() and vfork() fail with EAGAIN while the sandbox already runs
 * EXECD_MAX_TASKS tasks (processes and threads), and so do posix_spawn() and posix_spawnp(),
 * as Linux's pids cgroup controller would make them fail.
 *
 * Why here: under gVisor no per-sandbox process limit applies (RLIMIT_NPROC is not enforced,
 * and the sandbox's cgroups can only be changed by root), and a fork bomb's tasks starve
 * every other process in the sandbox, the server's watchdog included, until the sandbox runs
 * out of memory and is killed whole. The check has to happen in the forking process itself.
 *
 * The count is gVisor's pids.current for the container (one small read), else the number of
 * processes in /proc. Code that clears LD_PRELOAD or makes the system call itself is not
 * limited here; the server's watchdog still stops its context when the count passes the limit.
 *
 * With EXECD_FORK_MEMORY_BYTES set, new processes are refused as well while the sandbox's
 * memory use (gVisor's memory.usage_in_bytes, else cgroup v2's memory.current, else MemTotal
 * minus MemAvailable, which gVisor computes for the sandbox) is at least that:
 * each forked interpreter dirties memory of its own, and in a sandbox whose memory is already in
 * use a fork bomb would otherwise reach the memory limit before the task limit.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long env_number(const char *name) {
  const char *value = getenv(name);
  return value ? strtoll(value, NULL, 10) : 0;
}

/* Reads the start of a small file into `text` as a string; false when it cannot be read. */
static int read_text(const char *path, char *text, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, text, size - 1);
  close(fd);
  if (n <= 0) return 0;
  text[n] = 0;
  return 1;
}

/* The number in a small file (a cgroup counter), or -1 when it cannot be read. */
static long long read_number(const char *path) {
  char text[32];
  return read_text(path, text, sizeof text) ? strtoll(text, NULL, 10) : -1;
}

/* A /proc/meminfo field in bytes, or -1. */
static long long meminfo_field(const char *text, const char *field) {
  const char *at = strstr(text, field);
  return at ? strtoll(at + strlen(field), NULL, 10) * 1024 : -1;
}

static long long memory_now(void) {
  long long used = read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
  if (used < 0) used = read_number("/sys/fs/cgroup/memory.current");
  if (used >= 0) return used;
  char text[4096];
  if (!read_text("/proc/meminfo", text, sizeof text)) return -1;
  long long total = meminfo_field(text, "MemTotal:");
  long long available = meminfo_field(text, "MemAvailable:");
  return total >= 0 && available >= 0 ? total - available : -1;
}

static long tasks_now(void) {
  long long current = read_number("/sys/fs/cgroup/pids/pids.current");
  if (current >= 0) return (long)current;
  DIR *proc = opendir("/proc");
  if (!proc) return -1;
  long count = 0;
  struct dirent *entry;
  while ((entry = readdir(proc)) != NULL) {
    if (entry->d_name[0] >= '1' && entry->d_name[0] <= '9') count++;
  }
  closedir(proc);
  return count;
}

/* Whether a new process would pass the task limit, or the sandbox is at the fork memory bound. */
static int over_limit(void) {
  long long limit = env_number("EXECD_MAX_TASKS");
  if (limit > 0 && tasks_now() >= limit) return 1;
  long long memory_limit = env_number("EXECD_FORK_MEMORY_BYTES");
  if (memory_limit <= 0) return 0;
  long long used = memory_now();
  return used >= 0 && used >= memory_limit;
}

/*
 * A refused fork costs its caller a tenth of a second. A fork bomb's processes retry at once,
 * and hundreds of them spinning on refused forks would leave the server too little CPU to
 * answer its health checks or to stop them; paused, they leave it the CPU.
 */
static int at_limit(void) {
  if (!over_limit()) return 0;
  struct timespec pause = {0, 100 * 1000 * 1000};
  nanosleep(&pause, NULL);
  return 1;
}

pid_t fork(void) {
  static pid_t (*real_fork)(void);
  if (!real_fork) real_fork = (pid_t(*)(void))dlsym(RTLD_NEXT, "fork");
  if (at_limit()) {
    errno = EAGAIN;
    return -1;
  }
  return real_fork();
}

/*
 * The child of vfork() borrows the parent's stack, so it must not return from the function
 * that called vfork(); as a wrapper that would have to, it forks instead, which POSIX allows.
 */
pid_t vfork(void) {
  return fork();
}

typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *, char *const[],
                        char *const[]);

static int limited_spawn(const char *name, pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                         const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) {
  spawn_fn real = (spawn_fn)dlsym(RTLD_NEXT, name);
  if (!real) return ENOSYS;
  if (at_limit()) return EAGAIN;
  return real(pid, file, actions, attr, argv, envp);
}

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions, const posix_spawnattr_t *attr,
                char *const argv[], char *const envp[]) {
  return limited_spawn("posix_spawn", pid, path, actions, attr, argv, envp);
}

int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions, const posix_spawnattr_t *attr,
                 char *const argv[], char *const envp[]) {
  return limited_spawn("posix_spawnp", pid, file, actions, attr, argv, envp);
}
