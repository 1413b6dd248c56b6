INSERT INTO customers (name) VALUES ('ada'), ('grace');
INSERT INTO orders (customer_id, total) VALUES (1, 12.50);
