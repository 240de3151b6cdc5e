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
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long task_limit(void) {
  const char *value = getenv("EXECD_MAX_TASKS");
  return value ? strtol(value, NULL, 10) : 0;
}

static long tasks_now(void) {
  int fd = open("/sys/fs/cgroup/pids/pids.current", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char text[32];
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n > 0) {
      text[n] = 0;
      return strtol(text, NULL, 10);
    }
  }
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

/*
 * A refused fork costs its caller a tenth of a second. A fork bomb's processes retry at once,
 * and hundreds of them spinning on refused forks would leave the server too little CPU to
 * answer its health checks or to stop them; paused, they leave it the CPU.
 */
static int at_limit(void) {
  long limit = task_limit();
  if (limit <= 0 || tasks_now() < limit) return 0;
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
