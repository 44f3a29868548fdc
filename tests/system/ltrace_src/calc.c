long calc(long a, long b) { return a + b; }
