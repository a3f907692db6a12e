s1h
