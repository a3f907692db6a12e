mkdir -p t/d && echo a > t/d/a && chown -R 4000:4001 t && chmod 0700 t/d
tar -C t -cf - d | gzip -n > owned.tar.gz && rm -rf t
echo plain > plain.txt
