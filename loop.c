#include <unistd.h>
int main(void){ for(int i=0;i<50;i++){ getppid(); usleep(20000);} return 0; }
