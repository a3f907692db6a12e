# Archives by the host's tools: GNU tar format, owners and modes from the files.
mkdir -p t/dir/a-rather-long-directory-name-that-needs-more-than-one-hundred-characters-in-a-path-xxxxxxxxxxxxxxxxxx
echo long > t/dir/a-rather-long-directory-name-that-needs-more-than-one-hundred-characters-in-a-path-xxxxxxxxxxxxxxxxxx/file-with-a-long-name.txt
echo exec > t/dir/run.sh && chmod 0750 t/dir/run.sh && ln -s run.sh t/dir/link
chown -R 3000:3001 t/dir
tar --format=gnu -C t -cf - dir | gzip -n > gnu.tar.gz
tar --format=posix -C t -cf - dir | xz > data.bin
tar -C t -cf - dir | bzip2 > tree.tar.bz2
rm -rf t
