mkdir -p www/sub t && echo served > www/file.txt && echo in-archive > t/x
tar -C t -cf - x | gzip -n > www/sub/data.tar.gz && rm -rf t
