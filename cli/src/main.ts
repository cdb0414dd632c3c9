// Placeholder replaced by the CLI (issue #9).
process.stdout.write('imgpipe cli\n');
