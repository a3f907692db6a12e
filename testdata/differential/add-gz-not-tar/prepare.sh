printf 'just some notes\n' > notes.txt
gzip -n -k notes.txt && bzip2 -k notes.txt && xz -k notes.txt && rm notes.txt
mkdir -p t && echo inside > t/inside.txt && tar -C t -cf archive.txt inside.txt && rm -rf t
