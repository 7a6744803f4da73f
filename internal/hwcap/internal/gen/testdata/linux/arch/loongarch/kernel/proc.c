/* Synthetic fixture. */
static int show(struct seq_file *m)
{
	seq_puts(m, "ISA\t\t\t:");
	if (isa & 1)
		seq_puts(m, " notafeature");
	seq_puts(m, "\n");

	seq_puts(m, "Features\t\t:");
	if (cpu_has_cpucfg)
		seq_puts(m, " cpucfg");
	if (cpu_has_lam_bh)
		seq_puts(m, " lam_bh");
	if (cpu_has_lsx)
		seq_puts(m, " lsx");
	seq_puts(m, "\n");
	return 0;
}
