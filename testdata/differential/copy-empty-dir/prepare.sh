mkdir -p empty tree/empty-sub/empty-deeper
