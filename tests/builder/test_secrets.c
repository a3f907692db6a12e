/* SPDX-License-Identifier: Apache-2.0 */
/* --secret and --ssh (builder/secrets.c), the ssh-agent lade starts for key files and the
 * forwarding socket a RUN sees (builder/ssh_agent.c, builder/ssh_forward.c). */
#include "../helpers/test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../builder/secrets.h"
#include "../../builder/ssh_agent.h"
#include "../../builder/common/xalloc.h"

static void
test_secret_spec_forms(void **state)
{
    struct secret_spec s;
    struct lade_error err = {0};

    (void) state;
    assert_ok(secret_spec_parse("id=tok,src=/a/b", &s, &err), &err);
    assert_string_equal(s.id, "tok");
    assert_string_equal(s.src, "/a/b");
    assert_null(s.env);
    secret_spec_release(&s);
    /* buildx: keys are case-insensitive, "source" is "src", a quoted field keeps its comma */
    assert_ok(secret_spec_parse("ID=tok,\"Source=/a,b\"", &s, &err), &err);
    assert_string_equal(s.src, "/a,b");
    secret_spec_release(&s);
    /* type=env,src=VAR names a variable */
    assert_ok(secret_spec_parse("id=tok,type=env,src=VAR", &s, &err), &err);
    assert_null(s.src);
    assert_string_equal(s.env, "VAR");
    secret_spec_release(&s);
    assert_ok(secret_spec_parse("id=tok", &s, &err), &err);
    assert_null(s.src);
    assert_null(s.env);
    secret_spec_release(&s);
}

static void
test_secret_spec_errors(void **state)
{
    static const char *bad[] = {"id=a,nokey", "id=a,bogus=1", "id=a,type=ssh", "\"id=a"};
    struct secret_spec s;

    (void) state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct lade_error err = {0};
        assert_int_equal(secret_spec_parse(bad[i], &s, &err), -1);
        assert_int_equal(err.code, LADE_ERR_USAGE);
    }
}

static void
test_secrets_read_file_env_and_defaults(void **state)
{
    char *dir = test_tmpdir();
    char *path = xasprintf("%s/tok.txt", dir);
    char *spec = xasprintf("id=file,src=%s", path);
    char *by_id = xasprintf("id=%s", path);
    struct build_secrets *s = build_secrets_new();
    struct lade_error err = {0};
    const char *data;
    size_t len;

    (void) state;
    test_write_file(dir, "tok.txt", "v1\n", 0600);
    setenv("LADE_TEST_SECRET", "from-env", 1);
    assert_ok(build_secrets_add(s, spec, &err), &err);
    assert_ok(build_secrets_add(s, "id=e,env=LADE_TEST_SECRET", &err), &err);
    /* id alone: the variable of that name, else the file of that name */
    assert_ok(build_secrets_add(s, "id=LADE_TEST_SECRET", &err), &err);
    assert_ok(build_secrets_add(s, by_id, &err), &err);
    assert_true(build_secrets_get(s, "file", &data, &len));
    assert_int_equal(len, 3);
    assert_memory_equal(data, "v1\n", 3);
    assert_true(build_secrets_get(s, "e", &data, &len));
    assert_string_equal(data, "from-env");
    assert_true(build_secrets_get(s, "LADE_TEST_SECRET", &data, &len));
    assert_string_equal(data, "from-env");
    assert_true(build_secrets_get(s, path, &data, &len));
    assert_int_equal(len, 3);
    assert_false(build_secrets_get(s, "missing", &data, &len));
    /* read once, at parse time: a later change of the file is not seen; the last --secret
     * of an id wins */
    test_write_file(dir, "tok.txt", "v2\n", 0600);
    assert_true(build_secrets_get(s, "file", &data, &len));
    assert_memory_equal(data, "v1\n", 3);
    assert_ok(build_secrets_add(s, "id=file,env=LADE_TEST_SECRET", &err), &err);
    assert_true(build_secrets_get(s, "file", &data, &len));
    assert_string_equal(data, "from-env");
    build_secrets_free(s);
    test_rm_rf(dir);
    free(dir);
    free(path);
    free(spec);
    free(by_id);
}

static void
test_secrets_missing_sources_are_usage_errors(void **state)
{
    char *dir = test_tmpdir();
    char *big = xmalloc(SECRET_MAX_SIZE + 2);
    struct build_secrets *s = build_secrets_new();
    char *bigspec = xasprintf("id=big,src=%s/big", dir);
    const char *specs[] = {"id=a,src=/nonexistent/lade", "id=a,env=LADE_TEST_UNSET_VAR",
                           "src=/etc/hostname", bigspec};

    (void) state;
    memset(big, 'x', SECRET_MAX_SIZE + 1);
    big[SECRET_MAX_SIZE + 1] = '\0';
    test_write_file(dir, "big", big, 0600);
    unsetenv("LADE_TEST_UNSET_VAR");
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        struct lade_error err = {0};
        assert_int_equal(build_secrets_add(s, specs[i], &err), -1);
        assert_int_equal(err.code, LADE_ERR_USAGE);
    }
    build_secrets_free(s);
    test_rm_rf(dir);
    free(dir);
    free(big);
    free(bigspec);
}

static void
test_ssh_spec_forms(void **state)
{
    struct ssh_spec s;
    struct lade_error err = {0};

    (void) state;
    assert_ok(ssh_spec_parse("default", &s, &err), &err);
    assert_string_equal(s.id, "default");
    assert_null(s.paths);
    ssh_spec_release(&s);
    assert_ok(ssh_spec_parse("gh=/k1,/k2", &s, &err), &err);
    assert_string_equal(s.id, "gh");
    assert_string_equal(s.paths[0], "/k1");
    assert_string_equal(s.paths[1], "/k2");
    assert_null(s.paths[2]);
    ssh_spec_release(&s);
}

/* A listening unix socket at path, standing in for an agent's. */
static int
listen_at(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static void
test_ssh_sources(void **state)
{
    char *dir = test_tmpdir();
    char *sock = xasprintf("%s/agent.sock", dir);
    char *by_path = xasprintf("work=%s", sock);
    char *mixed = xasprintf("mixed=%s,%s/key", sock, dir);
    struct build_secrets *s = build_secrets_new();
    struct lade_error err = {0};
    int fd = listen_at(sock);

    (void) state;
    test_write_file(dir, "key", "not a key", 0600);
    setenv("SSH_AUTH_SOCK", sock, 1);
    assert_ok(build_secrets_add_ssh(s, "default", &err), &err);
    assert_ok(build_secrets_add_ssh(s, by_path, &err), &err);
    assert_string_equal(build_secrets_ssh_socket(s, "default"), sock);
    assert_string_equal(build_secrets_ssh_socket(s, ""), sock);
    assert_string_equal(build_secrets_ssh_socket(s, "work"), sock);
    assert_null(build_secrets_ssh_socket(s, "other"));
    assert_int_equal(build_secrets_add_ssh(s, "default", &err), -1); /* duplicate id */
    assert_int_equal(err.code, LADE_ERR_USAGE);
    lade_error_clear(&err);
    assert_int_equal(build_secrets_add_ssh(s, mixed, &err), -1);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    lade_error_clear(&err);
    unsetenv("SSH_AUTH_SOCK");
    assert_int_equal(build_secrets_add_ssh(s, "x", &err), -1);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    build_secrets_free(s);
    close(fd);
    test_rm_rf(dir);
    free(dir);
    free(sock);
    free(by_path);
    free(mixed);
}

/* One agent request over fd; returns the reply's type. */
static int
agent_request(int fd, unsigned char type)
{
    unsigned char req[5] = {0, 0, 0, 1, type}, hdr[4], body[4096];

    assert_int_equal(write(fd, req, 5), 5);
    assert_int_equal(read(fd, hdr, 4), 4);
    size_t len = (size_t) hdr[0] << 24 | (size_t) hdr[1] << 16 | (size_t) hdr[2] << 8 | hdr[3];
    assert_true(len > 0 && len <= sizeof(body));
    for (size_t got = 0; got < len;) {
        ssize_t r = read(fd, body + got, len - got);
        assert_true(r > 0);
        got += (size_t) r;
    }
    return body[0];
}

/* ssh-keygen a key, hand it to an agent lade starts, reach the agent through the forwarding
 * socket: keys are listed, a request to remove them is refused; the socket has the mode asked
 * for; stopping removes the socket and the agent. */
static void
test_ssh_agent_and_forward(void **state)
{
    char *dir = test_tmpdir();
    char *key = xasprintf("%s/id", dir);
    char *fwd_path = xasprintf("%s/fwd.sock", dir);
    char *cmd = xasprintf("ssh-keygen -q -t ed25519 -N '' -f %s", key);
    char *keys[] = {key, NULL};
    struct ssh_agent *agent = NULL;
    struct ssh_forward *fwd = NULL;
    struct lade_error err = {0};
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;

    (void) state;
    test_need_tool("ssh-keygen");
    test_need_tool("ssh-agent");
    assert_int_equal(system(cmd), 0);
    assert_ok(ssh_agent_start(keys, &agent, &err), &err);
    assert_ok(ssh_forward_start(ssh_agent_socket(agent), fwd_path, 0640, 0, 0, &fwd, &err), &err);
    assert_int_equal(stat(fwd_path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0640);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fwd_path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
    assert_int_equal(agent_request(fd, 11), 12); /* IDENTITIES_ANSWER */
    assert_int_equal(agent_request(fd, 19), 5);  /* REMOVE_ALL_IDENTITIES: FAILURE */
    assert_int_equal(agent_request(fd, 11), 12); /* the key is still there */
    close(fd);
    ssh_forward_stop(fwd);
    assert_int_equal(stat(fwd_path, &st), -1);
    /* a path longer than sun_path (a store in a deep directory) works too */
    char *deep = xasprintf("%s/%0120d", dir, 0), *deep_sock = xasprintf("%s/s.sock", deep);
    assert_int_equal(mkdir(deep, 0700), 0);
    assert_ok(ssh_forward_start(ssh_agent_socket(agent), deep_sock, 0600, 0, 0, &fwd, &err), &err);
    assert_int_equal(stat(deep_sock, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    ssh_forward_stop(fwd);
    free(deep);
    free(deep_sock);
    char *agent_dir = xstrdup(ssh_agent_socket(agent));
    *strrchr(agent_dir, '/') = '\0';
    ssh_agent_stop(agent);
    assert_int_equal(stat(agent_dir, &st), -1);
    /* a file that is no key: ssh-add's refusal is a usage error */
    test_write_file(dir, "junk", "junk\n", 0600);
    char *junk = xasprintf("%s/junk", dir);
    char *junks[] = {junk, NULL};
    assert_int_equal(ssh_agent_start(junks, &agent, &err), -1);
    assert_int_equal(err.code, LADE_ERR_USAGE);
    free(junk);
    free(agent_dir);
    test_rm_rf(dir);
    free(dir);
    free(key);
    free(fwd_path);
    free(cmd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_spec_forms),
        cmocka_unit_test(test_secret_spec_errors),
        cmocka_unit_test(test_secrets_read_file_env_and_defaults),
        cmocka_unit_test(test_secrets_missing_sources_are_usage_errors),
        cmocka_unit_test(test_ssh_spec_forms),
        cmocka_unit_test(test_ssh_sources),
        cmocka_unit_test(test_ssh_agent_and_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
