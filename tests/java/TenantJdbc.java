import java.sql.*;

/** pgjdbc through an organisation (tests/test_tenancy.py). Args: url user password
 *  other-password. Prints what a JDBC tool would see, one fact a line. */
public class TenantJdbc {
  public static void main(String[] a) throws Exception {
    try (Connection c = DriverManager.getConnection(a[0], a[1], a[2])) {
      Statement s = c.createStatement();
      try (ResultSet rs = s.executeQuery("SELECT current_database(), current_user")) {
        rs.next();
        System.out.println("database " + rs.getString(1) + " user " + rs.getString(2));
      }
      s.execute("CREATE TABLE jdbc_items (id int PRIMARY KEY, name text)");
      try (PreparedStatement p = c.prepareStatement("INSERT INTO jdbc_items VALUES (?, ?)")) {
        for (int i = 1; i <= 3; i++) {
          p.setInt(1, i);
          p.setString(2, "item" + i);
          p.addBatch();
        }
        System.out.println("batch " + p.executeBatch().length);
      }
      try (PreparedStatement p = c.prepareStatement("SELECT name FROM jdbc_items WHERE id > ? ORDER BY id")) {
        p.setInt(1, 1);
        try (ResultSet rs = p.executeQuery()) {
          while (rs.next()) System.out.println("row " + rs.getString(1));
        }
      }
      try (ResultSet rs = c.getMetaData().getTables(null, "public", "jdbc%", new String[] {"TABLE"})) {
        while (rs.next()) System.out.println("table " + rs.getString("TABLE_NAME"));
      }
    }
    try (Connection c = DriverManager.getConnection(a[0], a[1], a[3])) {
      System.out.println("other password connected");
    } catch (SQLException e) {
      System.out.println("other password " + e.getSQLState());
    }
  }
}
