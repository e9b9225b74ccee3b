/*
 * The thesis' pi.c (section 5.4.2.2), rewritten as a self-checkpointing job:
 * HTCondor's standard universe, which checkpointed it from outside, is gone
 * since HTCondor 9.0. The program saves its own state to pi.ckpt every few
 * seconds and exits with code 85; HTCondor (checkpoint_exit_code = 85)
 * transfers the file to the submit node and starts the program again, which
 * goes on from the saved iteration. If the job is evicted, it resumes on any
 * node from the last checkpoint, not from zero. SIGUSR1 (Slurm's warning
 * signal, see files/slurm/examples/pi.sbatch) makes it checkpoint and exit at
 * once.
 *
 *   pi N [SECONDS]   N iterations of the midpoint rule for 4/(1+x^2) on [0,1];
 *                    a checkpoint every SECONDS of work (default 10).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CHECKPOINT "pi.ckpt"
#define CHECKPOINT_EXIT_CODE 85

struct state {
    long long n;    /* iterations in all */
    long long i;    /* next iteration */
    double area;    /* sum so far */
};

static int load(struct state *s, long long n)
{
    FILE *f = fopen(CHECKPOINT, "r");
    struct state saved;
    if (f == NULL)
        return 0;
    int ok = fscanf(f, "%lld %lld %la", &saved.n, &saved.i, &saved.area) == 3 && saved.n == n;
    fclose(f);
    if (ok)
        *s = saved;
    return ok;
}

static volatile sig_atomic_t warned;

static void on_warning(int sig)
{
    (void)sig;
    warned = 1;
}

/* Written to a new file and renamed: an interruption never leaves half a checkpoint. */
static void save(const struct state *s)
{
    FILE *f = fopen(CHECKPOINT ".new", "w");
    if (f == NULL || fprintf(f, "%lld %lld %a\n", s->n, s->i, s->area) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0) {
        perror("writing " CHECKPOINT);
        exit(1);
    }
    if (rename(CHECKPOINT ".new", CHECKPOINT) != 0) {
        perror("renaming " CHECKPOINT);
        exit(1);
    }
}

int main(int argc, char *argv[])
{
    if (argc < 2 || argc > 3 || atoll(argv[1]) <= 0) {
        fprintf(stderr, "usage: %s ITERATIONS [SECONDS-BETWEEN-CHECKPOINTS]\n", argv[0]);
        return 2;
    }
    long long n = atoll(argv[1]);
    int every = argc == 3 ? atoi(argv[2]) : 10;
    char host[256] = "";
    gethostname(host, sizeof host - 1);

    signal(SIGUSR1, on_warning);
    struct state s = { n, 0, 0.0 };
    if (load(&s, n))
        printf("resuming at iteration %lld of %lld on %s\n", s.i, n, host);
    else
        printf("starting at iteration 0 of %lld on %s\n", n, host);
    fflush(stdout);

    time_t start = time(NULL);
    for (; s.i < n; s.i++) {
        double x = (s.i + 0.5) / n;
        s.area += 4.0 / (1.0 + x * x);
        if ((s.i & 0xfffff) == 0xfffff && (warned || time(NULL) - start >= every) && s.i + 1 < n) {
            s.i++;
            save(&s);
            printf("checkpoint at iteration %lld%s\n", s.i, warned ? " (warning signal)" : "");
            fflush(stdout);
            return CHECKPOINT_EXIT_CODE;
        }
    }
    printf("pi = %.12f\n", s.area / n);
    return 0;
}
