# a key for --ssh default=key (git cannot hold its 0600 mode)
ssh-keygen -q -t ed25519 -N "" -C difftest -f key
rm key.pub
