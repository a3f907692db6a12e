mkdir -p t/dir && echo zstd > t/dir/f.txt && chmod 0640 t/dir/f.txt && chown -R 3000:3001 t/dir
tar -C t -cf - dir | zstd -q > tree.tar.zst && cp tree.tar.zst tree.bin && rm -rf t
