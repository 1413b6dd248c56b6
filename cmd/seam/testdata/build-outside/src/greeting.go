package main

const greeting = "one"
