CREATE TABLE customers (
  id      INT AUTO_INCREMENT PRIMARY KEY,
  name    VARCHAR(100) NOT NULL UNIQUE,
  balance DECIMAL(10, 2) NOT NULL DEFAULT 0
);
CREATE TABLE orders (
  id          INT AUTO_INCREMENT PRIMARY KEY,
  customer_id INT NOT NULL,
  total       DECIMAL(10, 2) NOT NULL,
  FOREIGN KEY (customer_id) REFERENCES customers(id)
);
INSERT INTO customers (name, balance) VALUES ('ada', 10.5), ('grace', 0);
INSERT INTO orders (customer_id, total) VALUES (1, 12.5);
