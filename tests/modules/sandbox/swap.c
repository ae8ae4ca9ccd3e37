// The swapper of the mount race tests: swaps <dir>/<name> with symbolic links to each <target>, in
// turn, atomically (renameat2 RENAME_EXCHANGE), as fast as it can, until killed. Half the time the
// name is the real directory, half the time a link: a check made at one instant and a bind made at
// another see different things unless the bind is of what was checked.
// Built with `gcc -static` so the same binary runs on the host and inside every sandbox.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static void spin(void) {
  for (volatile int k = 0; k < 3000; k++) {
  }
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 12) {
    fprintf(stderr, "usage: swap <dir> <name> <target>...\n");
    return 2;
  }
  int d = open(argv[1], O_RDONLY | O_DIRECTORY);
  if (d < 0) return perror("open"), 1;
  char links[9][300];
  int n = argc - 3;
  for (int i = 0; i < n; i++) {
    snprintf(links[i], sizeof links[i], ".%s.swap%d", argv[2], i);
    unlinkat(d, links[i], 0);
    if (symlinkat(argv[3 + i], d, links[i]) != 0) return perror("symlinkat"), 1;
  }
  for (;;) {
    for (int i = 0; i < n; i++) {
      syscall(SYS_renameat2, d, argv[2], d, links[i], RENAME_EXCHANGE);
      spin();
      syscall(SYS_renameat2, d, argv[2], d, links[i], RENAME_EXCHANGE);
      spin();
    }
  }
}
