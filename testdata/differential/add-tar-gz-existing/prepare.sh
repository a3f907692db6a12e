mkdir -p t/app/conf && echo new > t/app/conf/a.conf && echo added > t/app/conf/b.conf && chmod 0755 t/app
tar -C t -cf - app | gzip -n > update.tar.gz && rm -rf t
