create table notes (id serial primary key, body text not null);
insert into notes (body) values ('first');
