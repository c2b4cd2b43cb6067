/* `gannet index`: index maintenance from the command line.
 *
 *   gannet index check USER   reports each way DATA/users/USER/gannet.db
 *                             and the Maildir differ; exit 0 when they
 *                             agree, 1 when they differ.
 *   gannet index rebuild USER rebuilds gannet.db from the Maildir, keeping
 *                             every message and whatever UIDs can be kept
 *                             (store_rebuild, store.h); the old file stays
 *                             as gannet.db.old.
 *
 * Either takes --data DIR, or --config FILE whose "data" setting names it.
 * Exit 2: bad usage; 3: no such user or the work failed. */
#ifndef GANNET_SERVER_INDEXCMD_H
#define GANNET_SERVER_INDEXCMD_H

/* argv[0] is "index"; data_dir is the data directory, already resolved. */
int indexcmd_main(int argc, char **argv, const char *data_dir);

#endif
