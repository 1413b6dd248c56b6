create table users (
  id serial primary key,
  email text not null unique,
  hash text not null
);
