//go:build cgo

/*
 * front.c: the C front end of hwcap-runtime. It runs as an ELF constructor,
 * before the Go runtime starts, and execs the real runtime at once when the
 * call cannot need a mask; everything else returns to the Go wrapper, which
 * stays the only place that decides about masks. See doc.go for the rules.
 *
 * Rules for this file: no allocation that outlives a call, no output, no
 * exit: every doubt returns FRONT_GO.
 */
#define _GNU_SOURCE
#include "front.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FRONT_DIR "/run/hwcap"
#define DEFAULT_CONFIG "/etc/hwcap/config.json"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_FRONT (16 << 10)          /* front file */
#define MAX_MARKER (8 << 10)          /* a marker holds one path */
#define MAX_BUNDLE_CONFIG (32 << 20)  /* wrapper.MaxConfigSize */
#define MAX_RUNTIMES 16
#define MAX_ID 1024

struct opt {
	const char *name;
	char shrt;
	int value;
};

static const struct opt global_opts[] = {
	{"log", 0, 1},         {"log-format", 0, 1}, {"log-level", 0, 1},
	{"root", 0, 1},        {"criu", 0, 1},       {"rootless", 0, 1},
	{"cgroup-manager", 0, 1}, {"debug", 0, 0},   {"systemd-cgroup", 0, 0},
	{NULL, 0, 0},
};

static const struct opt create_opts[] = {
	{"bundle", 'b', 1},       {"pid-file", 0, 1},     {"console-socket", 0, 1},
	{"pidfd-socket", 0, 1},   {"preserve-fds", 0, 1}, {"no-pivot", 0, 0},
	{"no-new-keyring", 0, 0}, {"no-subreaper", 0, 0}, {NULL, 0, 0},
};

static const struct opt run_opts[] = {
	{"bundle", 'b', 1},       {"pid-file", 0, 1},     {"console-socket", 0, 1},
	{"pidfd-socket", 0, 1},   {"preserve-fds", 0, 1}, {"no-pivot", 0, 0},
	{"no-new-keyring", 0, 0}, {"no-subreaper", 0, 0}, {"detach", 'd', 0},
	{"keep", 0, 0},           {NULL, 0, 0},
};

static const struct opt exec_opts[] = {
	{"console-socket", 0, 1}, {"pidfd-socket", 0, 1},    {"cwd", 0, 1},
	{"env", 'e', 1},          {"tty", 't', 0},           {"user", 'u', 1},
	{"additional-gids", 'g', 1}, {"process", 'p', 1},    {"detach", 'd', 0},
	{"pid-file", 0, 1},       {"process-label", 0, 1},   {"apparmor", 0, 1},
	{"no-new-privs", 0, 0},   {"cap", 'c', 1},           {"preserve-fds", 0, 1},
	{"cgroup", 0, 1},         {"ignore-paused", 0, 0},   {NULL, 0, 0},
};

/* Commands that start no process in a container: the Go wrapper passes
 * them through too. delete (records) and restore (image check) are not
 * here. */
static const char *const pass_cmds[] = {
	"state", "list", "ps", "kill", "start", "pause", "resume", "events",
	"features", "update", "spec", "checkpoint", "mounts", NULL,
};

unsigned long long front_fnv(const char *s)
{
	unsigned long long h = 14695981039346656037ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static const struct opt *find_long(const struct opt *t, const char *name, size_t len)
{
	for (; t->name; t++)
		if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
			return t;
	return NULL;
}

static const struct opt *find_short(const struct opt *t, char c)
{
	for (; t->name; t++)
		if (t->shrt && t->shrt == c)
			return t;
	return NULL;
}

/* take_opt reads the option at argv[*i]: "--name", "--name=value",
 * "--name value" or "-x [value]". Abbreviations, "-xVALUE", grouped short
 * options and "=value" on a flag without value are left to the Go wrapper
 * (-1). */
static int take_opt(const struct opt *t, int argc, char **argv, int *i, const struct opt **o, const char **val)
{
	const char *tok = argv[*i];
	const struct opt *f;

	*val = NULL;
	if (tok[0] != '-')
		return -1;
	if (tok[1] == '-') {
		const char *name = tok + 2;
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);

		if (len == 0 || !(f = find_long(t, name, len)))
			return -1;
		if (f->value) {
			if (eq)
				*val = eq + 1;
			else if (*i + 1 < argc)
				*val = argv[++*i];
			else
				return -1;
		} else if (eq) {
			return -1;
		}
		*o = f;
		return 0;
	}
	if (tok[1] == '\0' || tok[2] != '\0' || !(f = find_short(t, tok[1])))
		return -1;
	if (f->value) {
		if (*i + 1 >= argc)
			return -1;
		*val = argv[++*i];
	}
	*o = f;
	return 0;
}

/* valid_id is runc's rule for container ids (wrapper.ValidID). */
static int valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > MAX_ID || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return 0;
	for (const char *p = id; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '+' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

int front_parse(int argc, char **argv, struct front_args *a)
{
	const struct opt *o;
	const char *val, *cmd;
	int i;

	memset(a, 0, sizeof(*a));
	a->kind = FRONT_GO;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (take_opt(global_opts, argc, argv, &i, &o, &val) < 0)
			return FRONT_GO;
		if (strcmp(o->name, "root") == 0)
			a->root = val;
	}
	if (i >= argc)
		return FRONT_GO;
	cmd = argv[i];
	for (const char *const *p = pass_cmds; *p; p++)
		if (strcmp(cmd, *p) == 0)
			return a->kind = FRONT_PASS;

	if (strcmp(cmd, "create") == 0 || strcmp(cmd, "run") == 0) {
		const struct opt *t = cmd[0] == 'c' ? create_opts : run_opts;
		for (int j = i + 1; j < argc; j++) {
			if (argv[j][0] != '-') {
				if (a->id)
					return FRONT_GO;
				a->id = argv[j];
				continue;
			}
			if (take_opt(t, argc, argv, &j, &o, &val) < 0)
				return FRONT_GO;
			if (strcmp(o->name, "bundle") == 0)
				a->bundle = val;
		}
		if (!a->id || !valid_id(a->id))
			return FRONT_GO;
		return a->kind = FRONT_CREATE;
	}
	if (strcmp(cmd, "exec") == 0) {
		for (int j = i + 1; j < argc; j++) {
			if (argv[j][0] != '-') {
				a->id = argv[j];
				break;
			}
			if (take_opt(exec_opts, argc, argv, &j, &o, &val) < 0)
				return FRONT_GO;
		}
		if (!a->id || !valid_id(a->id))
			return FRONT_GO;
		return a->kind = FRONT_EXEC;
	}
	return FRONT_GO;
}

/* env_get returns the first NAME=value of envp, as Go's os.Getenv does. */
static const char *env_get(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* owned reports whether st is ours alone: owner is the effective user and
 * neither group nor others may write. */
static int owned(const struct stat *st)
{
	return st->st_uid == geteuid() && (st->st_mode & 022) == 0;
}

static int owned_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && owned(&st);
}

/* read_small reads a regular file of at most max bytes that is ours alone
 * into buf (NUL-terminated); -1 on anything else. */
static int read_small(const char *path, char *buf, size_t max)
{
	struct stat st;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !owned(&st) || (size_t)st.st_size >= max)
		goto fail;
	while (got < max - 1) {
		ssize_t r = read(fd, buf + got, max - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got >= max - 1 || memchr(buf, '\0', got))
		goto fail;
	buf[got] = '\0';
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}

static int usable(const char *p, const struct stat *self)
{
	struct stat st;

	if (stat(p, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0)
		return 0;
	return !self || st.st_dev != self->st_dev || st.st_ino != self->st_ino;
}

/* lookup is wrapper.Lookup: the first of names that is an executable
 * regular file other than this program, searching path for names without
 * a slash. 0 when none (the Go wrapper then says why). */
static int lookup(const char *const *names, int nn, const char *path, char *out, size_t n)
{
	struct stat selfst, *self = NULL;

	if (stat("/proc/self/exe", &selfst) == 0)
		self = &selfst;
	if (!path || !*path)
		path = DEFAULT_PATH;
	for (int k = 0; k < nn; k++) {
		const char *name = names[k];

		if (!*name)
			return 0;
		if (strchr(name, '/')) {
			if (name[0] != '/')
				return 0;
			if (usable(name, self)) {
				if ((size_t)snprintf(out, n, "%s", name) >= n)
					return 0;
				return 1;
			}
			continue;
		}
		for (const char *d = path; *d;) {
			const char *end = strchr(d, ':');
			size_t len = end ? (size_t)(end - d) : strlen(d);
			char p[PATH_MAX];

			if (len > 0 && d[0] == '/') {
				size_t dl = len;
				while (dl > 1 && d[dl - 1] == '/')
					dl--;
				if (dl == 1) /* "/" */
					dl = 0;
				if ((size_t)snprintf(p, sizeof(p), "%.*s/%s", (int)dl, d, name) < sizeof(p) &&
				    usable(p, self)) {
					if ((size_t)snprintf(out, n, "%s", p) >= n)
						return 0;
					return 1;
				}
			}
			if (!end)
				break;
			d = end + 1;
		}
	}
	return 0;
}

/* The front file, written by the Go wrapper (wrapper.WriteFront) each time
 * it has loaded the node configuration:
 *
 *   hwcap-front 1
 *   config PATH
 *   stat DEV INO SIZE MTIME_SEC MTIME_NSEC CTIME_SEC CTIME_NSEC | stat absent
 *   run-dir PATH
 *   runtime NAME        (one line each, in order)
 *   end
 */
struct front {
	char buf[MAX_FRONT];
	const char *rundir;
	const char *runtimes[MAX_RUNTIMES];
	int nrt;
};

static char *next_line(char **s)
{
	char *l = *s, *nl;

	if (!l || !*l)
		return NULL;
	nl = strchr(l, '\n');
	if (!nl)
		return NULL; /* every line ends with a newline */
	*nl = '\0';
	*s = nl + 1;
	return l;
}

/* stat_matches reports whether the node configuration cfg still has the
 * identity the front file recorded. "absent" (the built-in defaults) holds
 * only for the default path when $HWCAP_CONFIG does not name it: a file
 * that $HWCAP_CONFIG names and that does not exist is an error for the Go
 * wrapper (config.Load), never a reason to pass a call through. */
static int stat_matches(const char *cfg, int explicit, const char *fields)
{
	struct stat st;
	unsigned long long v[7];
	char *end;
	const char *p = fields;

	if (strcmp(fields, "absent") == 0)
		return !explicit && stat(cfg, &st) < 0 && errno == ENOENT && strcmp(cfg, DEFAULT_CONFIG) == 0;
	for (int k = 0; k < 7; k++) {
		if (*p < '0' || *p > '9')
			return 0;
		errno = 0;
		v[k] = strtoull(p, &end, 10);
		if (errno || (k < 6 && *end != ' ') || (k == 6 && *end != '\0'))
			return 0;
		p = end + 1;
	}
	if (stat(cfg, &st) < 0)
		return 0;
	return v[0] == (unsigned long long)st.st_dev && v[1] == (unsigned long long)st.st_ino &&
	       v[2] == (unsigned long long)st.st_size &&
	       v[3] == (unsigned long long)st.st_mtim.tv_sec && v[4] == (unsigned long long)st.st_mtim.tv_nsec &&
	       v[5] == (unsigned long long)st.st_ctim.tv_sec && v[6] == (unsigned long long)st.st_ctim.tv_nsec;
}

static int read_front(const char *dir, const char *cfg, int explicit, struct front *f)
{
	char path[PATH_MAX], *s, *l;

	if (!owned_dir(dir))
		return -1;
	if ((size_t)snprintf(path, sizeof(path), "%s/front-%016llx", dir, front_fnv(cfg)) >= sizeof(path))
		return -1;
	if (read_small(path, f->buf, sizeof(f->buf)) < 0)
		return -1;
	s = f->buf;
	f->nrt = 0;
	f->rundir = NULL;
	if (!(l = next_line(&s)) || strcmp(l, "hwcap-front 1") != 0)
		return -1;
	if (!(l = next_line(&s)) || strncmp(l, "config ", 7) != 0 || strcmp(l + 7, cfg) != 0)
		return -1;
	if (!(l = next_line(&s)) || strncmp(l, "stat ", 5) != 0 || !stat_matches(cfg, explicit, l + 5))
		return -1;
	if (!(l = next_line(&s)) || strncmp(l, "run-dir /", 9) != 0)
		return -1;
	f->rundir = l + 8;
	while ((l = next_line(&s)) && strncmp(l, "runtime ", 8) == 0) {
		if (f->nrt == MAX_RUNTIMES)
			return -1;
		f->runtimes[f->nrt++] = l + 8;
	}
	if (!l || strcmp(l, "end") != 0 || *s != '\0' || f->nrt == 0)
		return -1;
	return 0;
}

/* config_clean reports whether the OCI config name, relative to the
 * directory dfd (or absolute), certainly has no hwcap.dev/ annotation: its
 * bytes hold no "hwcap.dev/" in any case and no JSON escape that could
 * spell one (\u, \/). It is opened as the Go wrapper opens it
 * (spec.ReadRegularAt): no symlink as the last component, without blocking
 * on a FIFO or taking a terminal, and must be a regular file of at most
 * MAX_BUNDLE_CONFIG bytes; anything else is not clean either, so the Go
 * wrapper reports it. */
static int config_clean(int dfd, const char *name)
{
	static const char key[] = "hwcap.dev/";
	const size_t kl = sizeof(key) - 1;
	struct stat st;
	char *buf;
	size_t got = 0, cap;
	int clean = 0;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_BUNDLE_CONFIG) {
		close(fd);
		return 0;
	}
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return 0;
	}
	for (;;) {
		ssize_t r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			clean = r == 0;
			break;
		}
		got += (size_t)r;
		if (got == cap) /* grew since fstat: let Go read it */
			break;
	}
	close(fd);
	for (size_t k = 0; clean && k < got; k++) {
		char c = buf[k];
		if (c == '\\' && k + 1 < got && (buf[k + 1] == 'u' || buf[k + 1] == '/'))
			clean = 0;
		else if ((c == 'h' || c == 'H') && got - k >= kl && strncasecmp(buf + k, key, kl) == 0)
			clean = 0;
	}
	free(buf);
	return clean;
}

/* bundle_dir opens the bundle directory b (NULL or "" = the current
 * directory) as the runtime's chdir resolves it and puts its physical path
 * (/proc/self/fd/N) in out. It returns the descriptor, or -1 when the
 * directory cannot be opened or b does not name it by that very path (a
 * symlink, "..", "//" or a relative path that is not the current
 * directory's physical path joined with b): the Go wrapper then passes the
 * runtime the physical path (wrapper.Invocation.SetBundle). */
static int bundle_dir(const char *b, char *out, size_t n)
{
	char link[64], want[PATH_MAX];
	ssize_t l;
	size_t wl;
	int dfd = open(b && *b ? b : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return -1;
	if ((size_t)snprintf(link, sizeof(link), "/proc/self/fd/%d", dfd) >= sizeof(link))
		goto fail;
	l = readlink(link, out, n - 1);
	if (l <= 0 || (size_t)l >= n - 1 || out[0] != '/')
		goto fail;
	out[l] = '\0';
	if (!b || !*b)
		return dfd; /* the current directory: nothing to compare */
	if (b[0] == '/') {
		if ((size_t)snprintf(want, sizeof(want), "%s", b) >= sizeof(want))
			goto fail;
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)) ||
		    (size_t)snprintf(want, sizeof(want), "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, b) >= sizeof(want))
			goto fail;
	}
	wl = strlen(want);
	while (wl > 1 && want[wl - 1] == '/')
		want[--wl] = '\0';
	if (strcmp(want, out) != 0)
		goto fail;
	return dfd;
fail:
	close(dfd);
	return -1;
}

/* record_dir is wrapper.recordDir: RUNDIR/containers/<fnv of the root key>. */
static int record_dir(char *out, size_t n, const char *rundir, const char *root, const char *runtime)
{
	char key[PATH_MAX + 16];

	if (root && *root) {
		if ((size_t)snprintf(key, sizeof(key), "%s", root) >= sizeof(key))
			return -1;
	} else {
		const char *base = strrchr(runtime, '/');
		if ((size_t)snprintf(key, sizeof(key), "default:%s", base ? base + 1 : runtime) >= sizeof(key))
			return -1;
	}
	if ((size_t)snprintf(out, n, "%s/containers/%016llx", rundir, front_fnv(key)) >= n)
		return -1;
	return 0;
}

/* write_marker leaves RECORDDIR/ID.plain holding the config path, for a
 * later exec. Best effort: without it that exec is the Go wrapper's. */
static void write_marker(const char *rundir, const char *dir, const char *id, const char *cfgpath)
{
	char parent[PATH_MAX], tmp[PATH_MAX], dst[PATH_MAX];
	size_t len = strlen(cfgpath);
	int fd, ok;

	(void)mkdir(rundir, 0700); /* as the Go wrapper's MkdirAll */
	if (!owned_dir(rundir))
		return;
	if ((size_t)snprintf(parent, sizeof(parent), "%s/containers", rundir) >= sizeof(parent))
		return;
	(void)mkdir(parent, 0700);
	(void)mkdir(dir, 0700);
	if (!owned_dir(parent) || !owned_dir(dir))
		return;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.%d.plain.tmp", dir, id, (int)getpid()) >= sizeof(tmp) ||
	    (size_t)snprintf(dst, sizeof(dst), "%s/%s.plain", dir, id) >= sizeof(dst))
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	ok = write(fd, cfgpath, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
	if (close(fd) < 0)
		ok = 0;
	if (!ok || rename(tmp, dst) < 0)
		unlink(tmp);
}

int front_decide(int argc, char **argv, char **envp, const char *dir, char *runtime, size_t n)
{
	struct front_args a;
	const char *env_rt, *path, *cfg, *off;
	int explicit;
	static struct front f; /* 16 KiB: not on the stack of a constructor */
	char recdir[PATH_MAX], p[PATH_MAX];
	struct stat st;

	if (front_parse(argc, argv, &a) == FRONT_GO)
		return FRONT_GO;
	off = env_get(envp, "HWCAP_FRONT");
	if (off && strcmp(off, "off") == 0)
		return FRONT_GO;
	env_rt = env_get(envp, "HWCAP_RUNTIME");
	if (env_rt && !*env_rt)
		env_rt = NULL;
	path = env_get(envp, "PATH");

	/* A command that starts nothing, with $HWCAP_RUNTIME: no file at all. */
	if (a.kind == FRONT_PASS && env_rt)
		return lookup(&env_rt, 1, path, runtime, n) ? FRONT_PASS : FRONT_GO;

	cfg = env_get(envp, "HWCAP_CONFIG");
	explicit = cfg && *cfg;
	if (!explicit)
		cfg = DEFAULT_CONFIG;
	if (read_front(dir, cfg, explicit, &f) < 0)
		return FRONT_GO;
	if (env_rt ? !lookup(&env_rt, 1, path, runtime, n) : !lookup(f.runtimes, f.nrt, path, runtime, n))
		return FRONT_GO;
	if (a.kind == FRONT_PASS)
		return FRONT_PASS;

	if (record_dir(recdir, sizeof(recdir), f.rundir, a.root, runtime) < 0)
		return FRONT_GO;
	/* A record of the Go wrapper for this id: it decides. */
	if ((size_t)snprintf(p, sizeof(p), "%s/%s.json", recdir, a.id) >= sizeof(p))
		return FRONT_GO;
	if (lstat(p, &st) == 0 || errno != ENOENT)
		return FRONT_GO;

	if (a.kind == FRONT_CREATE) {
		char dirpath[PATH_MAX], cfgpath[PATH_MAX];
		int dfd = bundle_dir(a.bundle, dirpath, sizeof(dirpath)), clean;

		if (dfd < 0)
			return FRONT_GO;
		clean = config_clean(dfd, "config.json");
		close(dfd);
		if (!clean)
			return FRONT_GO;
		if ((size_t)snprintf(cfgpath, sizeof(cfgpath), "%s/config.json", strcmp(dirpath, "/") == 0 ? "" : dirpath) >= sizeof(cfgpath) ||
		    strchr(cfgpath, '\n'))
			return FRONT_GO;
		write_marker(f.rundir, recdir, a.id, cfgpath);
		return FRONT_CREATE;
	}

	/* exec: the marker create left, and the config it names still clean. */
	{
		char m[MAX_MARKER];
		size_t ml;

		if ((size_t)snprintf(p, sizeof(p), "%s/%s.plain", recdir, a.id) >= sizeof(p))
			return FRONT_GO;
		if (!owned_dir(recdir) || read_small(p, m, sizeof(m)) < 0)
			return FRONT_GO;
		ml = strlen(m);
		if (ml < 2 || m[0] != '/' || m[ml - 1] != '\n')
			return FRONT_GO;
		m[ml - 1] = '\0';
		if (strchr(m, '\n') || !config_clean(AT_FDCWD, m))
			return FRONT_GO;
		return FRONT_EXEC;
	}
}

void front_main(int argc, char **argv, char **envp)
{
	static char rt[PATH_MAX];
	char **nargv;

	/* The probe re-executes this binary under its own argv[0]s
	 * (probe.MaybeChild): those are never the front end's. */
	if (argc < 2 || strncmp(argv[0], "hwcap-internal-", 15) == 0 ||
	    front_decide(argc, argv, envp, FRONT_DIR, rt, sizeof(rt)) == FRONT_GO)
		return;
	nargv = calloc((size_t)argc + 1, sizeof(*nargv));
	if (!nargv)
		return;
	nargv[0] = rt;
	for (int k = 1; k < argc; k++)
		nargv[k] = argv[k];
	execve(rt, nargv, envp);
	free(nargv); /* the Go wrapper runs and reports */
}
