/* `gannet user`: manage the password file DIR/passwd from the command line.
 *
 *   gannet user add NAME --data DIR [--password-stdin]
 *   gannet user passwd NAME --data DIR [--password-stdin]
 *   gannet user del NAME --data DIR
 *   gannet user list --data DIR
 *
 * add, passwd and del create DIR (mode 0700) if it is missing; list never
 * creates anything. The password is the first line of stdin with
 * --password-stdin, otherwise it is read twice from /dev/tty with echo off.
 * Passwords must be 1..PASSWD_MAX bytes of UTF-8 (SASL PLAIN can carry no
 * other). del leaves DIR/users/NAME in place and says so; mailboxes of a new
 * user are created by the store at first login, not here.
 * Messages go to stderr; list prints one name per line on stdout. */
#ifndef GANNET_AUTH_USERCMD_H
#define GANNET_AUTH_USERCMD_H

/* Exit statuses of usercmd_main. */
enum {
	USERCMD_OK = 0,
	USERCMD_EUSER = 1,  /* user exists / is missing, bad name or password */
	USERCMD_EUSAGE = 2, /* bad arguments, or no terminal to prompt on */
	USERCMD_EIO = 3,    /* the data directory or password file failed */
};

/* argv[0] is "user"; returns the process exit status. */
int usercmd_main(int argc, char **argv);

#endif
