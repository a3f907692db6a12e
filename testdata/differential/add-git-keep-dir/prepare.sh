# A repository served over git's dumb HTTP protocol (case.conf http-serve www): tag v1 has
# README, run.sh (0755) and sub/s.txt; branch main adds later.txt.
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid
export GIT_AUTHOR_DATE=2020-01-01T00:00:00Z GIT_COMMITTER_DATE=2020-01-01T00:00:00Z
git init -q -b main repo
cd repo
echo readme > README && printf '#!/bin/sh\necho run\n' > run.sh && chmod 0755 run.sh
mkdir sub && echo s > sub/s.txt
git add . && git commit -qm one && git tag v1
echo later > later.txt && git add . && git commit -qm two
cd ..
mkdir www && git clone -q --bare repo www/repo.git && (cd www/repo.git && git update-server-info)
rm -rf repo
