#!/bin/bash
# A service whose request handler forgets to COMMIT: once asked (the file
# GO_FILE appears) it reserves stock in a transaction and leaves it open;
# GO_FILE.done says the reservation is made.
echo "leaker ready"
while [ ! -e "$GO_FILE" ]; do sleep 0.1; done
rm -f "$GO_FILE"
{ echo "BEGIN; UPDATE items SET stock = stock - 1 WHERE name = 'lamp'; SELECT 'reserved';"; sleep 600; } |
	psql -X -q -A -t "$SEAM_DB_URL" |
	while read -r line; do
		echo "$line"
		if [ "$line" = reserved ]; then touch "$GO_FILE.done"; fi
	done
