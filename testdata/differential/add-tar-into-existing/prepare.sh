mkdir -p src/dir/new
echo new > src/dir/file
echo added > src/dir/new/added
tar --owner=0 --group=0 --numeric-owner --mtime=@0 -C src -cf update.tar dir
rm -rf src
