/* The floor of an exact no-op check (bench/code_cache.py, issue 19): what any tool that
 * gives the interpreter's verdict for every source must do, and nothing else. Per folder:
 * list it (getdents) and open its __pycache__; per source: stat it (mtime, size) and read
 * the first 16 bytes of its pyc (open, read, close). No verdict, no output, no allocation
 * per file. Folders are split over THREADS threads by the index of the top-level entry.
 *
 *   cc -O2 -pthread -o bench/work/noop_floor bench/noop_floor.c
 *   bench/work/noop_floor TREE cpython-312 [THREADS]
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *tag;
static int threads = 2;

struct job {
    char **tops;
    int n, me;
    long sources, headers;
};

/* Depth-first with an explicit stack of open folders (no recursion). */
static void walk(const char *root, struct job *j) {
    int stack[512];
    DIR *dirs[512];
    int depth = 0;
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    stack[0] = fd;
    dirs[0] = fdopendir(fd);
    int cache = openat(fd, "__pycache__", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int caches[512];
    caches[0] = cache;
    while (depth >= 0) {
        struct dirent *e = dirs[depth] ? readdir(dirs[depth]) : NULL;
        if (!e) {
            if (dirs[depth]) closedir(dirs[depth]);
            if (caches[depth] >= 0) close(caches[depth]);
            depth--;
            continue;
        }
        const char *name = e->d_name;
        if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]))) continue;
        if (e->d_type == DT_DIR) {
            if (!strcmp(name, "__pycache__") || depth + 1 >= 512) continue;
            int sub = openat(stack[depth], name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (sub < 0) continue;
            depth++;
            stack[depth] = sub;
            dirs[depth] = fdopendir(sub);
            caches[depth] = openat(sub, "__pycache__", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            continue;
        }
        size_t len = strlen(name);
        if (len < 4 || strcmp(name + len - 3, ".py")) continue;
        struct stat st;
        if (fstatat(stack[depth], name, &st, 0) != 0) continue;
        j->sources++;
        if (caches[depth] < 0) continue;
        char pyc[1024];
        snprintf(pyc, sizeof pyc, "%.*s.%s.pyc", (int)(len - 3), name, tag);
        int p = openat(caches[depth], pyc, O_RDONLY | O_CLOEXEC);
        if (p < 0) continue;
        unsigned char head[16];
        if (read(p, head, sizeof head) == (ssize_t)sizeof head) j->headers++;
        close(p);
    }
}

static void *run(void *arg) {
    struct job *j = arg;
    for (int i = j->me; i < j->n; i += threads) walk(j->tops[i], j);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s TREE TAG [THREADS]\n", argv[0]);
        return 2;
    }
    tag = argv[2];
    if (argc > 3) threads = atoi(argv[3]);
    if (threads < 1 || threads > 64) threads = 2;
    /* The top-level folders of TREE, split over the threads. */
    DIR *d = opendir(argv[1]);
    if (!d) { perror(argv[1]); return 2; }
    char **tops = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || e->d_type != DT_DIR || !strcmp(e->d_name, "__pycache__")) continue;
        tops = realloc(tops, sizeof *tops * (n + 1));
        if (!tops) return 2;
        if (asprintf(&tops[n], "%s/%s", argv[1], e->d_name) < 0) return 2;
        n++;
    }
    closedir(d);
    pthread_t t[64];
    struct job jobs[64];
    for (int i = 0; i < threads; i++) {
        jobs[i] = (struct job){tops, n, i, 0, 0};
        pthread_create(&t[i], NULL, run, &jobs[i]);
    }
    long sources = 0, headers = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        sources += jobs[i].sources;
        headers += jobs[i].headers;
    }
    printf("%ld sources, %ld headers read\n", sources, headers);
    return 0;
}
