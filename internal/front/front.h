/* front.h: the C front end of hwcap-runtime (see doc.go). */
#ifndef HWCAP_FRONT_H
#define HWCAP_FRONT_H

#include <stddef.h>

/* What the front end decided. */
enum {
	FRONT_GO = 0,     /* hand over to the Go wrapper */
	FRONT_PASS = 1,   /* a command that starts no process: exec the runtime */
	FRONT_CREATE = 2, /* create/run of a container without hwcap.dev/ keys */
	FRONT_EXEC = 3,   /* exec into a container whose record has no mask */
};

/* What the front end understood of argv (parse only, no file read). */
struct front_args {
	int kind;           /* FRONT_GO, FRONT_PASS, FRONT_CREATE or FRONT_EXEC */
	const char *root;   /* --root value, NULL if none */
	const char *bundle; /* create/run: --bundle value, NULL if none */
	const char *id;     /* create/run/exec: the container id */
};

/* front_parse reads argv with the Go wrapper's option tables (rules.h),
 * in the plain forms engines use; anything else is FRONT_GO. */
int front_parse(int argc, char **argv, struct front_args *a);

/* front_decide is the whole decision without the exec: it reads the front
 * file in dir (written by the Go wrapper), the bundle's config file and a
 * container's record, and may write a record (FRONT_CREATE). On a kind
 * other than FRONT_GO, runtime holds the real runtime's path. */
int front_decide(int argc, char **argv, char **envp, const char *dir, char *runtime, size_t n);

/* front_main decides with dir RULE_FRONT_DIR and execs the real runtime,
 * or returns so that the Go wrapper runs. */
void front_main(int argc, char **argv, char **envp);

/* front_name writes the name of the front file of a key (wrapper.FrontKey:
 * $HWCAP_CONFIG, $PATH, $HWCAP_RUNTIME, --root; NULL = "") to out. */
void front_name(const char *const key[4], char *out, size_t n);

/* front_identity writes the identity of the file at path
 * (wrapper.identity) to out; -1 if it cannot be stat'ed. */
int front_identity(const char *path, char *out, size_t n);

#endif
