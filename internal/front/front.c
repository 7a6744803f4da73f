//go:build cgo

/*
 * front.c: the C front end of hwcap-runtime. It runs as an ELF constructor,
 * before the Go runtime starts, and execs the real runtime at once when the
 * call cannot need a mask; everything else returns to the Go wrapper, which
 * stays the only place that decides about masks. See doc.go for the rules.
 *
 * It keeps no copy of a Go rule. The options and commands it may read, the
 * container id rule, the names, members and bounds of the files come from
 * rules.h, generated from the Go wrapper; the runtime and the records
 * directory come from the front file the Go wrapper wrote. What it does
 * itself: read argv in the plain forms engines use, check that a file is
 * ours and unchanged, scan a config.json for hwcap.dev/, and write the
 * record of a container it passed through.
 *
 * Rules for this file: no allocation that outlives a call, no output, no
 * exit: every doubt returns FRONT_GO.
 */
#define _GNU_SOURCE
#include "front.h"
#include "rules.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- argv ---- */

static const struct rule_opt *find_long(const struct rule_opt *t, const char *name, size_t len)
{
	for (; t->name; t++)
		if (t->name[0] && strlen(t->name) == len && memcmp(t->name, name, len) == 0)
			return t;
	return NULL;
}

static const struct rule_opt *find_short(const struct rule_opt *t, char c)
{
	for (; t->name; t++)
		if (t->shrt && t->shrt == c)
			return t;
	return NULL;
}

/* take_opt reads the option at argv[*i]: "--name", "--name=value",
 * "--name value" or "-x [value]". Abbreviations, "-xVALUE", grouped short
 * options, "=value" on a flag without value and the options the Go
 * wrapper must see (help, crun's --config) are left to it (-1). */
static int take_opt(const struct rule_opt *t, int argc, char **argv, int *i, const struct rule_opt **o, const char **val)
{
	const char *tok = argv[*i];
	const struct rule_opt *f;

	*val = NULL;
	if (tok[0] != '-')
		return -1;
	if (tok[1] == '-') {
		const char *name = tok + 2;
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);

		if (len == 0 || !(f = find_long(t, name, len)) || f->go)
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
	if (tok[1] == '\0' || tok[2] != '\0' || !(f = find_short(t, tok[1])) || f->go)
		return -1;
	if (f->value) {
		if (*i + 1 >= argc)
			return -1;
		*val = argv[++*i];
	}
	*o = f;
	return 0;
}

/* valid_id is wrapper.ValidID, from its table. */
static int valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > RULE_MAX_ID || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		if (!rule_id_byte[*p])
			return 0;
	return 1;
}

int front_parse(int argc, char **argv, struct front_args *a)
{
	const struct rule_opt *o;
	const char *val, *cmd;
	int i;

	memset(a, 0, sizeof(*a));
	a->kind = FRONT_GO;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (take_opt(rule_global_opts, argc, argv, &i, &o, &val) < 0)
			return FRONT_GO;
		if (strcmp(o->name, "root") == 0)
			a->root = val;
	}
	if (i >= argc)
		return FRONT_GO;
	cmd = argv[i];
	for (const char *const *p = rule_pass_cmds; *p; p++)
		if (strcmp(cmd, *p) == 0)
			return a->kind = FRONT_PASS;

	if (strcmp(cmd, RULE_CMD_CREATE) == 0 || strcmp(cmd, RULE_CMD_RUN) == 0) {
		const struct rule_opt *t = strcmp(cmd, RULE_CMD_CREATE) == 0 ? rule_create_opts : rule_run_opts;
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
	if (strcmp(cmd, RULE_CMD_EXEC) == 0) {
		for (int j = i + 1; j < argc; j++) {
			if (argv[j][0] != '-') {
				a->id = argv[j];
				break;
			}
			if (take_opt(rule_exec_opts, argc, argv, &j, &o, &val) < 0)
				return FRONT_GO;
		}
		if (!a->id || !valid_id(a->id))
			return FRONT_GO;
		return a->kind = FRONT_EXEC;
	}
	return FRONT_GO;
}

/* env_get returns the first NAME=value of envp, as Go's os.Getenv does;
 * "" when there is none. */
static const char *env_get(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return "";
}

/* ---- files ---- */

/* owned reports whether st is ours alone: owner is the effective user and
 * neither group nor others may write (as wrapper.store reads). */
static int owned(const struct stat *st)
{
	return st->st_uid == geteuid() && (st->st_mode & 022) == 0;
}

static int owned_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && owned(&st);
}

/* read_small reads a regular file of at most max-1 bytes that is ours
 * alone into buf (NUL-terminated); -1 on anything else. */
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

/* format_identity writes st as wrapper.identity does. */
static void format_identity(const struct stat *st, char *out, size_t n)
{
	snprintf(out, n, "%llu %llu %lld %lld %ld %lld %ld", (unsigned long long)st->st_dev,
		 (unsigned long long)st->st_ino, (long long)st->st_size, (long long)st->st_mtim.tv_sec,
		 (long)st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec, (long)st->st_ctim.tv_nsec);
}

int front_identity(const char *path, char *out, size_t n)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return -1;
		snprintf(out, n, "%s", RULE_ABSENT);
		return 0;
	}
	format_identity(&st, out, n);
	return 0;
}

/* unchanged reports whether e, "IDENTITY PATH" of a front file's watch
 * list, still holds (and names the file want, if not NULL): the identity
 * is RULE_ABSENT or seven numbers. */
static int unchanged(const char *e, const char *want)
{
	char now[160];
	const char *path = e;
	size_t al = strlen(RULE_ABSENT);

	if (strncmp(e, RULE_ABSENT, al) == 0 && e[al] == ' ') {
		path = e + al + 1;
	} else {
		for (int k = 0; k < 7; k++) {
			path = strchr(path, ' ');
			if (!path)
				return 0;
			path++;
		}
	}
	if (path[0] != '/' || (want && strcmp(path, want) != 0) || front_identity(path, now, sizeof(now)) < 0)
		return 0;
	return strlen(now) == (size_t)(path - 1 - e) && memcmp(now, e, (size_t)(path - 1 - e)) == 0;
}

/* ---- the documents the Go wrapper writes ---- */

/* A reader for the JSON that wrapper.store writes: one object whose
 * members are strings, numbers, true, false, null or arrays of strings.
 * A string must hold printable ASCII and no escape. Anything else (an
 * escape, another byte, a nested object such as a record's mask) fails
 * the read, and the call is the Go wrapper's. Strings are NUL-terminated
 * in place. */
enum { J_STR, J_LIT, J_ELEM, J_END };

/* member_fn gets each member: a string (J_STR), a number or literal
 * (J_LIT), an array's strings (J_ELEM, idx 0, 1, ...) and then its end
 * (J_END, idx = the count). It returns -1 to fail the read. */
typedef int (*member_fn)(void *ctx, const char *key, int kind, const char *val, int idx);

static char *skip_ws(char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static char *json_str(char *p, char **s)
{
	if (*p != '"')
		return NULL;
	*s = ++p;
	for (; *p != '"'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c > 0x7e || c == '\\')
			return NULL;
	}
	*p = '\0';
	return p + 1;
}

static int json_object(char *p, member_fn fn, void *ctx)
{
	char *k, *v, lit[32];

	p = skip_ws(p);
	if (*p++ != '{')
		return -1;
	p = skip_ws(p);
	if (*p == '}')
		return *skip_ws(p + 1) ? -1 : 0;
	for (;;) {
		if (!(p = json_str(p, &k)))
			return -1;
		p = skip_ws(p);
		if (*p++ != ':')
			return -1;
		p = skip_ws(p);
		if (*p == '"') {
			if (!(p = json_str(p, &v)) || fn(ctx, k, J_STR, v, 0) < 0)
				return -1;
		} else if (*p == '[') {
			int i = 0;

			p = skip_ws(p + 1);
			while (*p != ']') {
				if (i > 0) {
					if (*p++ != ',')
						return -1;
					p = skip_ws(p);
				}
				if (!(p = json_str(p, &v)) || fn(ctx, k, J_ELEM, v, i++) < 0)
					return -1;
				p = skip_ws(p);
			}
			p++;
			if (fn(ctx, k, J_END, NULL, i) < 0)
				return -1;
		} else {
			size_t n = strspn(p, "0123456789+-.eEaflnrstu");
			if (n == 0 || n >= sizeof(lit))
				return -1;
			memcpy(lit, p, n);
			lit[n] = '\0';
			p += n;
			if (fn(ctx, k, J_LIT, lit, 0) < 0)
				return -1;
		}
		p = skip_ws(p);
		if (*p == '}')
			return *skip_ws(p + 1) ? -1 : 0;
		if (*p++ != ',')
			return -1;
		p = skip_ws(p);
	}
}

/* member_bit returns the bit of key among names (NULL-terminated), once:
 * -1 for an unknown member, or one seen before. */
static int member_bit(const char *const *names, const char *key, unsigned *seen)
{
	for (int b = 0; names[b]; b++) {
		if (strcmp(key, names[b]) != 0)
			continue;
		if (*seen & (1u << b))
			return -1;
		*seen |= 1u << b;
		return b;
	}
	return -1;
}

/* is_uint reports whether s is a decimal number equal to want. */
static int is_uint(const char *s, unsigned long long want)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	return !errno && !*end && v == want;
}

/* The front file (wrapper.Front) of this call's key. */
enum { F_VERSION, F_KEY, F_WATCH, F_RUNTIME, F_RECORDS, F_ALL = (1u << 5) - 1 };
static const char *const front_members[] = {
	RULE_M_FRONT_VERSION, RULE_M_FRONT_KEY, RULE_M_FRONT_WATCH, RULE_M_FRONT_RUNTIME, RULE_M_FRONT_RECORDS, NULL,
};

struct front {
	char buf[RULE_MAX_FRONT];
	const char *key[4]; /* this call's */
	const char *config; /* the node configuration this call loads */
	const char *runtime, *records;
	unsigned seen;
	int cur; /* the member whose array is being read */
};

static int front_member(void *ctx, const char *key, int kind, const char *val, int idx)
{
	struct front *f = ctx;
	int b = f->cur;

	if (!((kind == J_ELEM || kind == J_END) && idx > 0) && (b = member_bit(front_members, key, &f->seen)) < 0)
		return -1;
	f->cur = b;
	switch (b) {
	case F_VERSION:
		return kind == J_LIT && is_uint(val, RULE_FRONT_VERSION) ? 0 : -1;
	case F_KEY: /* this call's key, exactly: a hash collision is a miss */
		if (kind == J_ELEM)
			return idx < 4 && strcmp(val, f->key[idx]) == 0 ? 0 : -1;
		return kind == J_END && idx == 4 ? 0 : -1;
	case F_WATCH: /* this call's configuration first, every file unchanged */
		if (kind == J_ELEM)
			return unchanged(val, idx == 0 ? f->config : NULL) ? 0 : -1;
		return kind == J_END && idx > 0 ? 0 : -1;
	case F_RUNTIME:
	case F_RECORDS:
		if (kind != J_STR || val[0] != '/')
			return -1;
		*(b == F_RUNTIME ? &f->runtime : &f->records) = val;
		return 0;
	}
	return -1;
}

void front_name(const char *const key[4], char *out, size_t n)
{
	unsigned long long h = 14695981039346656037ULL; /* FNV-1a 64 (wrapper.pathKey) */

	for (int i = 0; i < 4; i++) {
		if (i > 0)
			h *= 1099511628211ULL; /* the NUL byte between two strings */
		for (const char *s = key[i] ? key[i] : ""; *s; s++) {
			h ^= (unsigned char)*s;
			h *= 1099511628211ULL;
		}
	}
	snprintf(out, n, "%016llx.json", h);
}

/* read_front reads and checks the front file of f->key in dir. */
static int read_front(const char *dir, struct front *f)
{
	char path[PATH_MAX], name[32];

	if (!owned_dir(dir))
		return -1;
	front_name(f->key, name, sizeof(name));
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -1;
	if (read_small(path, f->buf, sizeof(f->buf)) < 0)
		return -1;
	f->seen = 0;
	return json_object(f->buf, front_member, f) < 0 || f->seen != F_ALL ? -1 : 0;
}

/* A container's record (wrapper.Record) without a mask: RULE_M_RECORD_MASK
 * is not among these members, so a masked record fails the read. */
enum { R_VERSION, R_ID, R_BUNDLE, R_CONFIG, R_CONFIG_ID, R_ALL = (1u << 5) - 1 };
static const char *const record_members[] = {
	RULE_M_RECORD_VERSION, RULE_M_RECORD_ID, RULE_M_RECORD_BUNDLE, RULE_M_RECORD_CONFIG, RULE_M_RECORD_CONFIG_ID, NULL,
};

struct record {
	char buf[RULE_MAX_RECORD];
	const char *val[5]; /* by member */
	unsigned seen;
};

static int record_member(void *ctx, const char *key, int kind, const char *val, int idx)
{
	struct record *r = ctx;
	int b;

	(void)idx;
	if (kind == J_ELEM || kind == J_END || (b = member_bit(record_members, key, &r->seen)) < 0)
		return -1;
	if (b == R_VERSION)
		return kind == J_LIT && is_uint(val, RULE_RECORD_VERSION) ? 0 : -1;
	if (kind != J_STR)
		return -1;
	r->val[b] = val;
	return 0;
}

/* read_record reads the record p of container id in the records
 * directory dir into r: 0 when it is a record of id without a mask. */
static int read_record(const char *dir, const char *p, const char *id, struct record *r)
{
	r->seen = 0;
	if (!owned_dir(dir) || read_small(p, r->buf, sizeof(r->buf)) < 0 ||
	    json_object(r->buf, record_member, r) < 0 || r->seen != R_ALL ||
	    strcmp(r->val[R_ID], id) != 0 || r->val[R_CONFIG][0] != '/')
		return -1;
	return 0;
}

/* ---- the bundle ---- */

/* config_clean reports whether the OCI config name, relative to the
 * directory dfd (or absolute), certainly has no hwcap.dev/ annotation: its
 * bytes hold no RULE_ANNOTATION_PREFIX in any case and no JSON escape that
 * could spell one (\u, \/). It is opened as the Go wrapper opens it
 * (spec.ReadRegularAt): no symlink as the last component, without blocking
 * on a FIFO or taking a terminal, and must be a regular file of at most
 * RULE_MAX_CONFIG bytes; anything else is not clean either, so the Go
 * wrapper reports it. The identity of the file read goes to id. */
static int config_clean(int dfd, const char *name, char *id, size_t idn)
{
	static const char key[] = RULE_ANNOTATION_PREFIX;
	const size_t kl = sizeof(key) - 1;
	struct stat st;
	char *buf;
	size_t got = 0, cap;
	int clean = 0;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > RULE_MAX_CONFIG) {
		close(fd);
		return 0;
	}
	format_identity(&st, id, idn);
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
		else if ((c == key[0] || c == (key[0] ^ 0x20)) && got - k >= kl && strncasecmp(buf + k, key, kl) == 0)
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

/* printable reports whether s can be written as a JSON string without an
 * escape, and read back by json_str. */
static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

/* write_record leaves DIR/ID.json, the record of a container without a
 * mask, byte for byte as wrapper.Store.Put writes one, for a later exec.
 * Best effort: without it that exec is the Go wrapper's. */
static void write_record(const char *dir, const char *id, const char *bundle, const char *config, const char *config_id)
{
	char tmp[PATH_MAX], dst[PATH_MAX], doc[3 * PATH_MAX];
	int fd, ok, len;

	(void)mkdir(dir, 0700); /* the Go wrapper made its parent with the front file */
	if (!owned_dir(dir) || !printable(bundle) || !printable(config))
		return;
	len = snprintf(doc, sizeof(doc), "{\"%s\":%d,\"%s\":\"%s\",\"%s\":\"%s\",\"%s\":\"%s\",\"%s\":\"%s\"}\n",
		       RULE_M_RECORD_VERSION, RULE_RECORD_VERSION, RULE_M_RECORD_ID, id, RULE_M_RECORD_BUNDLE, bundle,
		       RULE_M_RECORD_CONFIG, config, RULE_M_RECORD_CONFIG_ID, config_id);
	if (len < 0 || (size_t)len >= sizeof(doc) || len >= RULE_MAX_RECORD)
		return;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.json.%d.tmp", dir, id, (int)getpid()) >= sizeof(tmp) ||
	    (size_t)snprintf(dst, sizeof(dst), "%s/%s.json", dir, id) >= sizeof(dst))
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	ok = write(fd, doc, (size_t)len) == len;
	if (close(fd) < 0)
		ok = 0;
	if (!ok || rename(tmp, dst) < 0)
		unlink(tmp);
}

/* not_self reports whether the runtime rt exists and is not this program:
 * the front end never execs itself (wrapper.Lookup skips it too). */
static int not_self(const char *rt)
{
	struct stat st, self;

	if (stat(rt, &st) < 0)
		return 0;
	return stat("/proc/self/exe", &self) < 0 || st.st_dev != self.st_dev || st.st_ino != self.st_ino;
}

static int set_runtime(const char *rt, char *out, size_t n)
{
	return not_self(rt) && (size_t)snprintf(out, n, "%s", rt) < n;
}

int front_decide(int argc, char **argv, char **envp, const char *dir, char *runtime, size_t n)
{
	struct front_args a;
	const char *env_rt;
	static struct front f;   /* 16 KiB: not on the stack of a constructor */
	static struct record r;  /* 64 KiB */
	char p[PATH_MAX], id[160];
	struct stat st;

	if (front_parse(argc, argv, &a) == FRONT_GO)
		return FRONT_GO;
	if (strcmp(env_get(envp, RULE_ENV_FRONT), RULE_FRONT_OFF) == 0)
		return FRONT_GO;
	env_rt = env_get(envp, RULE_ENV_RUNTIME);

	/* A command that starts nothing, with $HWCAP_RUNTIME a path: no file. */
	if (a.kind == FRONT_PASS && env_rt[0] == '/')
		return set_runtime(env_rt, runtime, n) ? FRONT_PASS : FRONT_GO;

	/* The Go wrapper's answer for this key (wrapper.FrontKey). */
	f.key[0] = env_get(envp, RULE_ENV_CONFIG);
	f.key[1] = env_get(envp, "PATH");
	f.key[2] = env_rt;
	f.key[3] = a.root ? a.root : "";
	f.config = f.key[0][0] ? f.key[0] : RULE_DEFAULT_CONFIG; /* config.PathIn */
	if (read_front(dir, &f) < 0 || !set_runtime(f.runtime, runtime, n))
		return FRONT_GO;
	if (a.kind == FRONT_PASS)
		return FRONT_PASS;
	if ((size_t)snprintf(p, sizeof(p), "%s/%s.json", f.records, a.id) >= sizeof(p))
		return FRONT_GO;

	if (a.kind == FRONT_CREATE) {
		char dirpath[PATH_MAX], cfgpath[PATH_MAX];
		int dfd, clean;

		/* A record for this id with a mask (or one the front end cannot
		 * read): the Go wrapper decides. One without, it replaces. */
		if ((lstat(p, &st) == 0 || errno != ENOENT) && read_record(f.records, p, a.id, &r) < 0)
			return FRONT_GO;
		if ((dfd = bundle_dir(a.bundle, dirpath, sizeof(dirpath))) < 0)
			return FRONT_GO;
		clean = config_clean(dfd, "config.json", id, sizeof(id));
		close(dfd);
		if (!clean)
			return FRONT_GO;
		if ((size_t)snprintf(cfgpath, sizeof(cfgpath), "%s/config.json", strcmp(dirpath, "/") == 0 ? "" : dirpath) >= sizeof(cfgpath))
			return FRONT_GO;
		write_record(f.records, a.id, dirpath, cfgpath, id);
		return FRONT_CREATE;
	}

	/* exec: the container's record has no mask, and its config file is
	 * still the one it was made from (Record.Current), and still clean. */
	if (read_record(f.records, p, a.id, &r) < 0 || !config_clean(AT_FDCWD, r.val[R_CONFIG], id, sizeof(id)) ||
	    strcmp(id, r.val[R_CONFIG_ID]) != 0)
		return FRONT_GO;
	return FRONT_EXEC;
}

void front_main(int argc, char **argv, char **envp)
{
	static char rt[PATH_MAX];
	char **nargv;

	/* The probe re-executes this binary under its own argv[0]s
	 * (probe.MaybeChild): those are never the front end's. */
	if (argc < 2 || strncmp(argv[0], RULE_CHILD_PREFIX, sizeof(RULE_CHILD_PREFIX) - 1) == 0 ||
	    front_decide(argc, argv, envp, RULE_FRONT_DIR, rt, sizeof(rt)) == FRONT_GO)
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
