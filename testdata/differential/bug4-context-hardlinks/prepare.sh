ln a.txt b.txt
ln a.txt c.txt
ln dir/x dir/y
