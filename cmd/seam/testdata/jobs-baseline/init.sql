-- What the database's init makes; the migration adds the rest.
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
