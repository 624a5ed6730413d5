/* main.c - the ticketd command line (placeholder until the CLI lands). */
#include <stdio.h>

int main(void)
{
    puts("ticketd");
    return 0;
}
