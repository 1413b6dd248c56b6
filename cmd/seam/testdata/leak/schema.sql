CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, stock int NOT NULL DEFAULT 0);
INSERT INTO items (name, stock) VALUES ('lamp', 3), ('desk', 1);
