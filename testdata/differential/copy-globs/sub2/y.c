s2
