# rootfs/bin/busybox and its applet links, and the directories git cannot hold.
r=rootfs
mkdir -p $r/bin $r/dev $r/proc $r/sys $r/tmp $r/root $r/home/app $r/home/bob
cp "$BUSYBOX" $r/bin/busybox
for a in $("$BUSYBOX" --list-full); do
    [ "$a" = bin/busybox ] && continue
    mkdir -p "$r/$(dirname "$a")"
    ln -sfn /bin/busybox "$r/$a"
done
chmod 0755 $r $r/bin $r/bin/busybox $r/etc
chmod 0644 $r/etc/passwd $r/etc/group
chmod 1777 $r/tmp
chmod 0700 $r/root
chown 2001:2002 $r/home/app
chown 1000:1000 $r/home/bob
