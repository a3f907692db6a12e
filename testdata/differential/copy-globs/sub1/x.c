s1
