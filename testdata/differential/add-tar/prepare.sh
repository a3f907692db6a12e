# The archives, with owners, modes, links and a directory; GNU tar on the host writes them.
mkdir -p src/dir/sub
echo file > src/dir/file
echo sub > src/dir/sub/deep
ln -s file src/dir/link
ln src/dir/file src/dir/hard
chmod 0640 src/dir/file
chmod 0750 src/dir/sub
tar --owner=1234 --group=5678 --numeric-owner --mtime=@0 -C src -cf plain.tar dir
gzip -n -c plain.tar > archive.tar.gz
bzip2 -c plain.tar > archive.tar.bz2
xz -c plain.tar > archive.tar.xz
cp archive.tar.gz misnamed.txt
echo "just text" > not-a-tar.tar.gz
rm -rf src
